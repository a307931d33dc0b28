"""The KG path toolkit: enumerate the paths from a user to an item through the CKG, weight
their edges, score and rank them, and cut the bounded subgraph they span. Every explainer that
shows paths builds on it (paths, attention, edges, influence, popularity, counterfactual); the
paths explainer itself is core.explain.paths, whose docstring explains the shapes and scores.

Path shapes (every edge is a real CKG edge; ids come from the CSR adjacency, never invented):
  user-item-item          u -interacted-> h -r-> t               (h linked to t directly)
  user-item-entity-item   u -interacted-> h -r1-> e -r2-> t      (h and t share entity e)
  user-item-user-item     u -interacted-> h -~interacted-> v -interacted-> t   (collaborative)
Enumeration is vectorised numpy over the user's history (small) and the target's in-edges
(small): one CSR gather and one sorted join per shape, no traversal of the whole graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.explain.base import Contribution, Edge, Path, Subgraph
from core.explain.context import ExplainContext
from core.models.base import NotSupported

Aggregation = Literal["product", "mean", "min", "sum"]
MAX_NODES = 60
N_PATHS = 10


@dataclass(frozen=True)
class PathSet:
    """Candidate paths of one shape: eids int64 [P, L] (CKG edge ids, user side first)."""

    kind: str
    eids: np.ndarray


def join(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i, j) with a[i] == b[j]. Returns two int64 arrays of equal length."""
    order = np.argsort(b, kind="stable")
    bs = b[order]
    left = np.searchsorted(bs, a, "left")
    counts = np.searchsorted(bs, a, "right") - left
    ia = np.repeat(np.arange(len(a)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return ia, order[np.repeat(left, counts) + within]


def enumerate_paths(
    ctx: ExplainContext, user: int, item: int, collaborative: bool = True
) -> list[PathSet]:
    """Every path of the three shapes from `user` to `item` (see module docstring); the
    collaborative shape is skipped when `collaborative` is False."""
    g, un = ctx.ckg, ctx.user_node(user)
    ue = g.out.of(un)  # u -> h edges (all interactions of u)
    he = g.out.of_many(g.dst[ue])  # edges leaving the history items
    first = np.repeat(ue, np.diff(g.out.ptr)[g.dst[ue]])  # the u->h edge before each he edge
    te = g.inc.of(item)  # edges arriving at the target
    kg_he, kg_te = g.is_kg(he), g.is_kg(te)
    sets = []
    direct = kg_he & (g.dst[he] == item)
    sets.append(PathSet("user-item-item", np.stack([first[direct], he[direct]], 1)))
    a = kg_he & (g.dst[he] != item)
    ia, ib = join(g.dst[he[a]], g.src[te[kg_te]])
    sets.append(_stack3("user-item-entity-item", first[a][ia], he[a][ia], te[kg_te][ib]))
    if not collaborative:
        return [s for s in sets if len(s.eids)]
    a = g.rel[he] == g.interacted + 1
    b = (g.rel[te] == g.interacted) & (g.src[te] != un)
    ia, ib = join(g.dst[he[a]], g.src[te[b]])
    sets.append(_stack3("user-item-user-item", first[a][ia], he[a][ia], te[b][ib]))
    return [s for s in sets if len(s.eids)]


def _stack3(kind: str, e1: np.ndarray, e2: np.ndarray, e3: np.ndarray) -> PathSet:
    return PathSet(kind, np.stack([e1, e2, e3], 1).astype(np.int64))


def edge_weights(ctx: ExplainContext, eids: np.ndarray) -> np.ndarray:
    """Weight in [0, 1] of each traversed edge (see module docstring). eids: any shape."""
    g = ctx.ckg
    if ctx.edge_attention is not None:
        return ctx.edge_attention[eids]
    if ctx.entity_emb is None:
        raise NotSupported(
            f"{ctx.model.name} has neither KG edge attention nor entity embeddings to score paths"
        )
    flat = eids.reshape(-1)
    w = np.empty(len(flat))
    kg = g.is_kg(flat)
    emb = ctx.entity_emb
    w[kg] = (1 + np.einsum("ij,ij->i", emb[g.src[flat[kg]]], emb[g.dst[flat[kg]]])) / 2
    w[~kg] = _user_item_affinity(ctx, g.src[flat[~kg]], g.dst[flat[~kg]])
    return w.reshape(eids.shape)


@torch.no_grad()
def _user_item_affinity(ctx: ExplainContext, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sigmoid(score(user, item)) for user-item edges given in either direction."""
    users = np.where(a >= ctx.n_entities, a, b) - ctx.n_entities
    items = np.where(a >= ctx.n_entities, b, a)
    if len(users) == 0:
        return np.empty(0)
    u = torch.as_tensor(users, device=ctx.device)
    i = torch.as_tensor(items, device=ctx.device)
    return torch.sigmoid(ctx.model.score_pairs(u, i)).double().cpu().numpy()


def aggregate(w: np.ndarray, how: Aggregation) -> np.ndarray:
    """Path scores from edge weights w [P, L]."""
    if how == "product":
        return w.prod(axis=1)
    if how == "mean":
        return w.mean(axis=1)
    if how == "min":
        return w.min(axis=1)
    return w.sum(axis=1)


@dataclass(frozen=True)
class ScoredPaths:
    """Paths of one shape with their edge weights [P, L] and path scores [P]."""

    kind: str
    eids: np.ndarray
    weights: np.ndarray
    scores: np.ndarray


def path_total(scored: list[ScoredPaths]) -> float:
    """Sum of |score| over every scored path: `Explanation.share_of_score` divides by it."""
    return float(sum(float(np.abs(s.scores).sum()) for s in scored))


def score_sets(sets: list[PathSet], weight_fn, how: Aggregation) -> list[ScoredPaths]:
    """Weigh every edge with `weight_fn(eids [P, L]) -> [P, L]` and aggregate per path."""
    out = []
    for s in sets:
        w = weight_fn(s.eids)
        out.append(ScoredPaths(s.kind, s.eids, w, aggregate(w, how)))
    return out


def _order(scored: list[ScoredPaths], n: int) -> list[tuple[int, int]]:
    """(set index, row) of the n best paths: higher score first, then shorter."""
    if not scored:
        return []
    scores = np.concatenate([s.scores for s in scored])
    lengths = np.concatenate([np.full(len(s.scores), s.eids.shape[1]) for s in scored])
    which = np.concatenate([np.full(len(s.scores), i) for i, s in enumerate(scored)])
    rows = np.concatenate([np.arange(len(s.scores)) for s in scored])
    if len(scores) > n:
        keep = np.argpartition(-scores, n - 1)[:n]
    else:
        keep = np.arange(len(scores))
    keep = keep[np.lexsort((lengths[keep], -scores[keep]))]
    return [(int(which[j]), int(rows[j])) for j in keep]


def edge_record(ctx: ExplainContext, eid: int, weight: float) -> Edge:
    g = ctx.ckg
    return Edge(
        src=ctx.node(g.src[eid]),
        relation=g.relation_names[g.rel[eid]],
        dst=ctx.node(g.dst[eid]),
        weight=float(weight),
    )


def top_paths(ctx: ExplainContext, scored: list[ScoredPaths], n: int) -> tuple[Path, ...]:
    """The n best paths as records, best first."""
    out = []
    for i, r in _order(scored, n):
        s = scored[i]
        edges = tuple(edge_record(ctx, e, w) for e, w in zip(s.eids[r], s.weights[r], strict=True))
        out.append(Path(edges=edges, score=float(s.scores[r]), kind=s.kind))
    return tuple(out)


def contributions(ctx: ExplainContext, scored: list[ScoredPaths]) -> tuple[Contribution, ...]:
    """History items (node 1 of every path) and KG entities (node 2 of entity paths), each
    weighted by the summed score of the paths through it over the total |score|."""
    g = ctx.ckg
    total = sum(float(np.abs(s.scores).sum()) for s in scored) or 1.0
    parts: list[Contribution] = []
    for kind, pos, shapes in (("history_item", 0, None), ("entity", 1, {"user-item-entity-item"})):
        nodes, weights = [], []
        for s in scored:
            if shapes is None or s.kind in shapes:
                nodes.append(g.dst[s.eids[:, pos]])
                weights.append(s.scores)
        if not nodes:
            continue
        uniq, inv = np.unique(np.concatenate(nodes), return_inverse=True)
        sums = np.bincount(inv, weights=np.concatenate(weights), minlength=len(uniq)) / total
        for j in np.argsort(-sums, kind="stable"):
            n = int(uniq[j])
            parts.append(Contribution(kind, ctx.node(n), ctx.name(n), float(sums[j])))
    return tuple(parts)


def subgraph(
    ctx: ExplainContext,
    user: int,
    item: int,
    scored: list[ScoredPaths],
    max_nodes: int = MAX_NODES,
) -> Subgraph:
    """Union of the best paths, added best first while the node count stays <= max_nodes."""
    g = ctx.ckg
    nodes: dict[int, None] = {ctx.user_node(user): None, int(item): None}
    edges: dict[int, float] = {}
    for i, r in _order(scored, 4 * max_nodes):
        if len(nodes) >= max_nodes:
            break
        eids, weights = scored[i].eids[r].tolist(), scored[i].weights[r].tolist()
        new = [n for n in g.dst[eids].tolist() if n not in nodes]
        if len(nodes) + len(new) > max_nodes:
            continue
        nodes.update(dict.fromkeys(new))
        for e, w in zip(eids, weights, strict=True):
            edges.setdefault(e, w)
    kinds = {ctx.node(n): ("target" if n == item else ctx.kind(n)) for n in nodes}
    return Subgraph(
        nodes={ctx.node(n): ctx.name(n) for n in nodes},
        node_kinds=kinds,
        edges=tuple(edge_record(ctx, e, w) for e, w in edges.items()),
    )


def influence_scored(
    ctx: ExplainContext, sets: list[PathSet], history: np.ndarray, influence: np.ndarray
) -> list[ScoredPaths]:
    """Paths through history items of positive influence, each history item's influence split
    over its paths by their plausibility (module docstring). Edge weights [P, L]: the history
    item's influence on the user-item edge, `edge_weights` on the others."""
    infl = np.zeros(ctx.n_items)
    infl[history] = np.clip(influence, 0, None)
    g = ctx.ckg
    kept, plaus = [], []
    for s in sets:
        eids = s.eids[infl[g.dst[s.eids[:, 0]]] > 0]
        if len(eids):
            w = edge_weights(ctx, eids[:, 1:])
            kept.append((s.kind, eids, w))
            plaus.append(w.prod(axis=1))
    if not kept:
        return []
    heads = np.concatenate([g.dst[e[:, 0]] for _, e, _ in kept])
    per_head = np.bincount(heads, weights=np.concatenate(plaus), minlength=ctx.n_items)
    out = []
    for (kind, eids, w), p in zip(kept, plaus, strict=True):
        h = g.dst[eids[:, 0]]
        score = infl[h] * p / np.maximum(per_head[h], 1e-300)
        out.append(ScoredPaths(kind, eids, np.concatenate([infl[h][:, None], w], 1), score))
    return out


def history_scored(
    ctx: ExplainContext, user: int, item: int, history: np.ndarray, w: np.ndarray
) -> list[ScoredPaths]:
    """KG paths through history items (no collaborative ones), each scored by its history
    item's weight w (float [H], aligned with `history`): attention or influence."""
    att = np.zeros(ctx.n_items)
    att[history] = w
    out = []
    for s in enumerate_paths(ctx, user, item, collaborative=False):
        h = ctx.ckg.dst[s.eids[:, 0]]
        ew = np.ones(s.eids.shape)
        ew[:, 0] = att[h]
        out.append(ScoredPaths(s.kind, s.eids, ew, att[h]))
    return out
