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
import torch

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
