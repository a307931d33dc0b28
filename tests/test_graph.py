"""core.graph on a hand-checked tiny dataset, a loaded CSV folder, and the sample data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import load_dataset
from core.graph import INTERACTED, ckg_relation_names, collaborative_kg, interaction_graph

# 3 users, 4 items; (0, 1) appears twice. Item 2 has no interaction.
TRAIN = np.array([[0, 0], [0, 1], [1, 1], [2, 3], [0, 1]])
# Entities: items 0..3, then 4 = genre Noir, 5 = genre Comedy, 6 = director Ava (E = 7).
# Relations: 0 = genre, 1 = directed_by. (0, 1, 6) appears twice.
KG = np.array([[0, 0, 4], [1, 0, 4], [2, 0, 5], [0, 1, 6], [0, 1, 6]])
N_USERS, N_ITEMS, N_ENTITIES, N_RELATIONS = 3, 4, 7, 2


def _edges(g) -> set[tuple[int, int]]:
    src, dst = g.edges()
    return set(zip(src.tolist(), dst.tolist(), strict=True))


def _rel_of(g, u: int, v: int) -> list[int]:
    """Relation ids of all edges u -> v."""
    return sorted(g.edata["rel"][g.edge_ids(u, v, return_uv=True)[2]].tolist())


def test_interaction_graph_hand_checked():
    g = interaction_graph(N_USERS, N_ITEMS, TRAIN)
    assert g.num_nodes() == 3 + 4
    assert g.num_edges() == 2 * 4  # duplicate (0, 1) collapsed
    # Users 0..2, items 3..6; both directions, nothing else.
    expected = {(0, 3), (0, 4), (1, 4), (2, 6)}
    assert _edges(g) == expected | {(v, u) for u, v in expected}
    src, _ = g.edges()
    assert (src[:4] < N_USERS).all() and (src[4:] >= N_USERS).all()  # user->item first
    assert g.in_degrees(3 + 2) == 0 and g.out_degrees(0) == 2 and g.in_degrees(0) == 2


def test_interaction_graph_without_interactions_keeps_all_nodes():
    g = interaction_graph(2, 5, np.zeros((0, 2), dtype=np.int64))
    assert (g.num_nodes(), g.num_edges()) == (7, 0)


def test_collaborative_kg_hand_checked():
    g = collaborative_kg(N_USERS, N_ENTITIES, N_RELATIONS, TRAIN, KG)
    assert g.num_nodes() == 7 + 3  # entities 0..6, users 7..9
    assert g.num_edges() == 2 * (4 + 4)  # unique triples and unique interactions, both ways
    r = N_RELATIONS
    assert _rel_of(g, 0, 4) == [0]  # item 0 -genre-> Noir
    assert _rel_of(g, 4, 0) == [0 + r]  # Noir -~genre-> item 0
    assert _rel_of(g, 0, 6) == [1]  # duplicate triple collapsed to one edge
    assert _rel_of(g, 6, 0) == [1 + r]
    assert _rel_of(g, 7, 1) == [2 * r]  # user 0 -interacted-> item 1, once
    assert _rel_of(g, 1, 7) == [2 * r + 1]
    assert _rel_of(g, 9, 3) == [2 * r] and not g.has_edges_between(9, 2)
    assert torch.bincount(g.edata["rel"], minlength=2 * r + 2).tolist() == [3, 1, 3, 1, 4, 4]
    assert g.edata["rel"].dtype == torch.int64


def test_collaborative_kg_without_triples():
    g = collaborative_kg(N_USERS, N_ITEMS, 1, TRAIN, np.zeros((0, 3), dtype=np.int64))
    assert (g.num_nodes(), g.num_edges()) == (4 + 3, 8)
    assert set(g.edata["rel"].tolist()) == {2, 3}


def test_ckg_relation_names_index_like_rel():
    names = ckg_relation_names(("genre", "directed_by"))
    assert names == ["genre", "directed_by", "~genre", "~directed_by", INTERACTED, f"~{INTERACTED}"]
    g = collaborative_kg(N_USERS, N_ENTITIES, N_RELATIONS, TRAIN, KG)
    assert names[int(g.edata["rel"][g.edge_ids(6, 0)])] == "~directed_by"
    assert names[int(g.edata["rel"][g.edge_ids(8, 1)])] == INTERACTED


def test_graphs_from_a_loaded_csv_folder(tmp_path):
    (tmp_path / "items.csv").write_text("item,title\nm1,Alpha\nm2,Beta\nm3,Gamma\n")
    (tmp_path / "interactions.csv").write_text("user,item\nu1,m1\nu1,m2\nu2,m2\nu2,m2\n")
    kg = "head,relation,tail\nm1,genre,genre:Noir\nm2,genre,genre:Noir\nm2,sequel_of,m3\n"
    (tmp_path / "kg.csv").write_text(kg)
    ds = load_dataset(tmp_path)
    pairs = ds.interactions[["user", "item"]].to_numpy(np.int64)
    triples = ds.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    g = collaborative_kg(ds.n_users, ds.n_entities, ds.n_relations, pairs, triples)
    assert g.num_nodes() == 4 + 2  # 3 items + genre:Noir, then 2 users
    m2, m3, noir = (ds.entity_ids.to_internal(x) for x in ("m2", "m3", "genre:Noir"))
    assert (m2, m3) == (ds.item_ids.to_internal("m2"), ds.item_ids.to_internal("m3"))
    names = ckg_relation_names(ds.relation_names)
    assert [names[r] for r in _rel_of(g, m2, noir)] == ["genre"]
    assert [names[r] for r in _rel_of(g, m3, m2)] == ["~sequel_of"]  # an item as a KG tail
    u2 = ds.n_entities + ds.user_ids.to_internal("u2")
    assert [names[r] for r in _rel_of(g, u2, m2)] == [INTERACTED]
    ig = interaction_graph(ds.n_users, ds.n_items, pairs)
    assert ig.num_edges() == 2 * 3


@pytest.fixture(scope="module")
def sample():
    ds = load_dataset("sample")
    pairs = ds.interactions[["user", "item"]].to_numpy(np.int64)
    triples = ds.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    return ds, pairs, triples


def test_interaction_graph_counts_on_sample(sample):
    ds, pairs, _ = sample
    g = interaction_graph(ds.n_users, ds.n_items, pairs)
    n_unique = len(np.unique(pairs, axis=0))
    assert g.num_nodes() == ds.n_users + ds.n_items
    assert g.num_edges() == 2 * n_unique
    per_user = np.bincount(np.unique(pairs, axis=0)[:, 0], minlength=ds.n_users)
    assert g.out_degrees(torch.arange(ds.n_users)).tolist() == per_user.tolist()
    assert (g.in_degrees() == g.out_degrees()).all()  # symmetric


def test_collaborative_kg_counts_on_sample(sample):
    ds, pairs, triples = sample
    g = collaborative_kg(ds.n_users, ds.n_entities, ds.n_relations, pairs, triples)
    n_pairs, n_triples = len(np.unique(pairs, axis=0)), len(np.unique(triples, axis=0))
    r = ds.n_relations
    assert g.num_nodes() == ds.n_entities + ds.n_users
    assert g.num_edges() == 2 * (n_triples + n_pairs)
    per_rel = np.bincount(np.unique(triples, axis=0)[:, 1], minlength=r)
    counts = torch.bincount(g.edata["rel"], minlength=2 * r + 2).numpy()
    assert counts.tolist() == [*per_rel, *per_rel, n_pairs, n_pairs]
    users = torch.arange(ds.n_entities, ds.n_entities + ds.n_users)
    assert int(g.out_degrees(users).sum()) == n_pairs  # users only send "interacted" edges
    assert len(ckg_relation_names(ds.relation_names)) == 2 * r + 2
