"""KG-path explainer on the tiny hand-built graph (tests/explain/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.paths import enumerate_paths, join
from tests.explain.conftest import HOSTILE, RandomKGAT, assert_edges_exist


def test_join_returns_all_equal_pairs():
    ia, ib = join(np.array([3, 1, 3]), np.array([3, 2, 3, 1]))
    pairs = sorted(zip(ia.tolist(), ib.tolist(), strict=True))
    assert pairs == [(0, 0), (0, 2), (1, 3), (2, 0), (2, 2)]


def test_the_only_path_is_found(kgat_ctx):
    expl = api.explain(kgat_ctx, user=0, item=3, method="paths")
    assert isinstance(expl, Explanation)
    assert len(expl.paths) == 1
    path = expl.paths[0]
    assert path.nodes == ("u:0", "i:2", "e:6", "i:3")
    assert [e.relation for e in path.edges] == ["interacted", "genre", "~genre"]
    assert path.kind == "user-item-entity-item"


def test_paths_of_both_shapes_exist_and_score_by_attention_product(kgat_ctx):
    expl = api.explain(kgat_ctx, user=0, item=1, method="paths")
    kinds = {p.kind: p for p in expl.paths}
    assert set(kinds) == {"user-item-entity-item", "user-item-user-item"}
    kg, collab = kinds["user-item-entity-item"], kinds["user-item-user-item"]
    assert kg.nodes == ("u:0", "i:0", "e:5", "i:1")
    assert collab.nodes == ("u:0", "i:0", "u:1", "i:1")
    # product of reverse-edge attention: (1/2) * 1 * 1 and (1/2) * (1/3) * (1/2)
    assert kg.score == pytest.approx(0.5)
    assert collab.score == pytest.approx(1 / 12)
    assert expl.paths[0] == kg
    assert expl.top_entities(1) == ["e:5"]
    for p in expl.paths:
        assert_edges_exist(kgat_ctx, p.edges)
    assert_edges_exist(kgat_ctx, expl.subgraph.edges)


def test_mean_and_min_aggregations(kgat_ctx):
    scores = {}
    for how in ("mean", "min"):
        expl = api.explain(kgat_ctx, 0, 1, "paths", aggregation=how)
        scores[how] = {p.kind: p.score for p in expl.paths}
    assert scores["mean"]["user-item-user-item"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert scores["min"]["user-item-entity-item"] == pytest.approx(0.5)


def test_embedding_scoring_without_attention(toy_ctx):
    expl = api.explain(toy_ctx, 0, 3, "paths")
    assert expl.extra["scoring"] == "embedding"
    (path,) = expl.paths
    assert path.nodes == ("u:0", "i:2", "e:6", "i:3")
    assert 0 < path.score <= 1


def test_subgraph_is_bounded_and_contains_user_and_target(kgat_ctx):
    expl = api.explain(kgat_ctx, 0, 1, "paths", max_nodes=4)
    sub = expl.subgraph
    assert len(sub.nodes) <= 4
    assert sub.node_kinds["i:1"] == "target" and sub.node_kinds["u:0"] == "user"
    node_ids = set(sub.nodes)
    assert all(e.src in node_ids and e.dst in node_ids for e in sub.edges)


def test_hostile_entity_name_passes_through_unescaped(kgat_ctx):
    expl = api.explain(kgat_ctx, 0, 3, "paths")
    assert expl.subgraph.nodes["e:6"] == HOSTILE
    assert HOSTILE in expl.sentence


def test_random_graph_every_returned_edge_is_real():
    """A random CKG: every path edge and subgraph edge exists; subgraph <= 60 nodes."""
    from core.models.base import ModelInputs

    rng = np.random.default_rng(0)
    n_users, n_items, n_ent = 30, 40, 60
    train = np.stack([rng.integers(0, n_users, 400), rng.integers(0, n_items, 400)], 1)
    heads, rels = rng.integers(0, n_items, 150), rng.integers(0, 3, 150)
    kg = np.stack([heads, rels, rng.integers(0, n_ent, 150)], 1)
    inputs = ModelInputs(n_users, n_items, n_ent, 3, train, kg, ("a", "b", "c"))
    ctx = ExplainContext.build(RandomKGAT(inputs), inputs)
    for user in range(5):
        for expl in api.explain_top_k(ctx, user, 5, "paths"):
            assert expl.paths, "a dense random graph always has some path"
            for p in expl.paths:
                assert p.nodes[0] == f"u:{user}" and p.nodes[-1] == f"i:{expl.item}"
                assert_edges_exist(ctx, p.edges)
            assert len(expl.subgraph.nodes) <= 60
            n_paths = sum(len(s.eids) for s in enumerate_paths(ctx, user, expl.item))
            assert n_paths == expl.extra["n_paths"]
