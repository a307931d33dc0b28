"""DGL graph builders: pure functions of sizes and interaction / triple arrays.

Node numbering (relied on by models and explainers):
- Interaction graph: users 0..U-1, then items U..U+I-1; every interaction as two directed edges.
- Collaborative KG (KGAT style): entities 0..E-1 (items first, item i is entity i), then users
  E..E+U-1. `edata["rel"]` holds the relation id of each edge:
    r in [0, R)        KG relation r, head -> tail
    r + R              its inverse, tail -> head
    2R                 "interacted": user -> item
    2R + 1             "~interacted": item -> user
"""

from __future__ import annotations

import dgl
import numpy as np
import pandas as pd
import torch

from core.subgraph import Edge, Subgraph, node_id, relation_phrase

INTERACTED = "interacted"


def _unique_pairs(pairs: np.ndarray) -> np.ndarray:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def interaction_graph(n_users: int, n_items: int, train: np.ndarray) -> dgl.DGLGraph:
    """Bipartite user-item graph as one homogeneous graph with both edge directions.

    train: int64 [N, 2] (user, item); duplicates are collapsed. Returns a graph with
    U + I nodes and 2 * (unique pairs) edges: first all user->item, then all item->user.
    """
    pairs = _unique_pairs(train)
    users = torch.from_numpy(pairs[:, 0])
    items = torch.from_numpy(pairs[:, 1]) + n_users
    src = torch.cat([users, items])
    dst = torch.cat([items, users])
    return dgl.graph((src, dst), num_nodes=n_users + n_items)


def ckg_relation_names(relation_names: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the collaborative KG's 2R + 2 relations, indexed like `edata["rel"]`."""
    names = list(relation_names)
    return names + [f"~{r}" for r in names] + [INTERACTED, f"~{INTERACTED}"]


def collaborative_kg(
    n_users: int, n_entities: int, n_relations: int, train: np.ndarray, kg: np.ndarray
) -> dgl.DGLGraph:
    """Users, items and entities in one graph with KG relations, their inverses and interactions.

    train: int64 [N, 2] (user, item); kg: int64 [T, 3] (head, relation, tail). Duplicate
    interactions and duplicate triples are collapsed. Returns a graph with E + U nodes and
    2 * (unique triples + unique interactions) edges; `edata["rel"]` as in the module docstring.
    """
    triples = np.asarray(kg, dtype=np.int64).reshape(-1, 3)
    triples = np.unique(triples, axis=0) if len(triples) else triples
    pairs = _unique_pairs(train)
    h, r, t = (torch.from_numpy(triples[:, i]) for i in range(3))
    u = torch.from_numpy(pairs[:, 0]) + n_entities
    i = torch.from_numpy(pairs[:, 1])
    interact = torch.full_like(u, 2 * n_relations)
    src = torch.cat([h, t, u, i])
    dst = torch.cat([t, h, i, u])
    rel = torch.cat([r, r + n_relations, interact, interact + 1])
    g = dgl.graph((src, dst), num_nodes=n_entities + n_users)
    g.edata["rel"] = rel
    return g


def _kg_adjacency(
    kg: np.ndarray, keep_relations: np.ndarray | None
) -> dict[int, list[tuple[int, int, int]]]:
    """entity -> [(head, relation, tail)] over the triples touching it. kg: int64 [T, 3]."""
    if keep_relations is not None:
        kg = kg[np.isin(kg[:, 1], keep_relations)]
    adj: dict[int, list[tuple[int, int, int]]] = {}
    for h, r, t in kg.tolist():
        adj.setdefault(h, []).append((h, r, t))
        adj.setdefault(t, []).append((h, r, t))
    return adj


def kg_neighbourhood(
    dataset, center: int, hops: int, relations: tuple[str, ...] = (), max_nodes: int = 60
):
    """The KG around entity `center`: entities within `hops` (breadth first, at most
    `max_nodes`, nearest first) and every triple among them, as a `core.subgraph.Subgraph`.

    dataset: a core.data Dataset; relations: names to keep (empty = all). Node kinds are
    "target" (the center), "item" (ids < n_items) or "entity".
    """

    kg = dataset.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    names = list(dataset.relation_names)
    keep = np.array([names.index(r) for r in relations if r in names]) if relations else None
    adj = _kg_adjacency(kg, keep)
    seen, queue = {int(center): 0}, [int(center)]
    for node in queue:  # the list grows while iterated: a breadth-first queue
        if seen[node] >= hops or len(seen) >= max_nodes:
            continue
        for h, _, t in adj.get(node, []):
            other = t if h == node else h
            if other not in seen and len(seen) < max_nodes:
                seen[other] = seen[node] + 1
                queue.append(other)
    n_items = dataset.n_items
    nid = {e: node_id("i" if e < n_items else "e", e) for e in seen}
    triples = {(h, r, t) for e in seen for h, r, t in adj.get(e, []) if h in seen and t in seen}
    return Subgraph(
        nodes={nid[e]: str(dataset.entity_names[e]) for e in seen},
        node_kinds={
            nid[e]: "target" if e == center else ("item" if e < n_items else "entity") for e in seen
        },
        edges=tuple(Edge(nid[h], names[r], nid[t], 1.0) for h, r, t in sorted(triples)),
    )


def resolve_entity(dataset, query: str) -> int | None:
    """Entity id for a raw entity / item id, else the first entity whose name contains `query`
    (case-insensitive); None when nothing matches or the query is blank."""
    query = query.strip()
    if not query:
        return None
    hit = dataset.entity_ids.get(query)
    if hit is not None:
        return hit
    low = query.lower()
    return next((i for i, n in enumerate(dataset.entity_names) if low in str(n).lower()), None)


def relation_stats(dataset):
    """pandas DataFrame, one row per KG relation (most triples first): its raw name, the words
    the graphs and sentences use for it, triples, distinct heads, distinct tails and average
    tails per head."""

    grouped = dataset.kg.groupby("relation")
    frame = pd.DataFrame(
        {
            "triples": grouped.size(),
            "heads": grouped["head"].nunique(),
            "tails": grouped["tail"].nunique(),
        }
    )
    frame["tails per head"] = (frame["triples"] / frame["heads"]).round(2)
    names = [dataset.relation_names[int(r)] for r in frame.index]
    frame.index = names
    frame.insert(0, "in words", [relation_phrase(n) for n in names])
    return frame.rename_axis("relation").reset_index().sort_values("triples", ascending=False)
