"""Edge attribution (gradient x edge weight) for GNN models (LightGCN, KGAT).

The model's documented `score_pairs_with_edge_weight(users, items, edge_weight)` scales every
message of edge e of its `graph` by edge_weight[e]; at edge_weight = 1 it reproduces the score.
The attribution of edge e is d score / d w_e * w_e at w = 1 — the first-order effect of
removing the edge — computed with autograd on a per-call weight tensor (the model and its graph
are never modified). Edges outside the user's and item's L-hop computation subgraph have
exactly zero gradient, so only that subgraph carries attribution.

Attributions are moved onto the collaborative KG's edge ids (so paths and subgraphs share one
form with the KG-path explainer) and summed over both directions of each edge. Paths are the
CKG paths all of whose edges carry attribution (for LightGCN: the collaborative paths), scored
by the sum of their edges' attributions.
"""

from __future__ import annotations

import numpy as np
import torch

from core.explain.base import Contribution, Explanation
from core.explain.context import ExplainContext
from core.explain.kg_paths import (
    MAX_NODES,
    N_PATHS,
    ScoredPaths,
    aggregate,
    edge_record,
    enumerate_paths,
    path_total,
    subgraph,
    top_paths,
)
from core.explain.text import with_sentence
from core.models.base import NotSupported, Recommender
from core.models.base import supports as declares

N_EDGES = 10


def _model_graph(model: Recommender):
    """The graph whose edge ids `score_pairs_with_edge_weight` weighs (the declared
    `explain_graph()`: LightGCN's user-item graph, KGAT's CKG)."""
    return model.explain_graph()


def supports(model: Recommender) -> bool:
    return declares(model, "score_pairs_with_edge_weight") and declares(model, "explain_graph")


def attribution(ctx: ExplainContext, user: int, item: int) -> np.ndarray:
    """Gradient x edge weight of the (user, item) score over the CKG's edges. float [M]."""
    model = ctx.model
    if not supports(model):
        raise NotSupported(f"{model.name} has no edge-weighted scoring to attribute edges")
    g = _model_graph(model)
    weight = torch.ones(g.num_edges(), device=ctx.device, requires_grad=True)
    u = torch.tensor([int(user)], device=ctx.device)
    i = torch.tensor([int(item)], device=ctx.device)
    with torch.enable_grad():
        s = model.score_pairs_with_edge_weight(u, i, weight)
        (grad,) = torch.autograd.grad(s.sum(), weight)
    attr = (grad * weight).detach().double().cpu().numpy()
    return _to_ckg(ctx, g, attr)


def _to_ckg(ctx: ExplainContext, g, attr: np.ndarray) -> np.ndarray:
    """Move per-edge values of the model's graph onto CKG edge ids (summing duplicates)."""
    out = np.zeros(len(ctx.ckg.src))
    nz = np.nonzero(attr)[0]
    src, dst = (
        t.cpu().numpy().astype(np.int64) for t in g.find_edges(torch.as_tensor(nz, device=g.device))
    )
    n_ckg = ctx.n_entities + ctx.n_users
    g_ckg = ctx.ckg
    if g.num_nodes() == n_ckg and g.num_edges() == len(g_ckg.src):  # the CKG itself (KGAT)
        if np.array_equal(src, g_ckg.src[nz]) and np.array_equal(dst, g_ckg.dst[nz]):
            out[nz] = attr[nz]
            return out
    if g.num_nodes() == ctx.n_users + ctx.n_items:  # interaction graph: users first, then items
        src = np.where(src < ctx.n_users, src + ctx.n_entities, src - ctx.n_users)
        dst = np.where(dst < ctx.n_users, dst + ctx.n_entities, dst - ctx.n_users)
    elif g.num_nodes() != n_ckg:
        raise NotSupported(
            f"{ctx.model.name}'s graph matches neither the CKG nor the user-item graph"
        )
    eids = ctx.ckg.find(src, dst)
    ok = eids >= 0
    np.add.at(out, eids[ok], attr[nz][ok])
    return out


def symmetric(ctx: ExplainContext, attr: np.ndarray) -> np.ndarray:
    """Attribution of each edge plus that of its reverse. float [M]."""
    return attr + attr[ctx.ckg.reverse]


def history_attribution(ctx: ExplainContext, user: int, item: int) -> tuple[np.ndarray, np.ndarray]:
    """(history items int64 [T], attribution of their user-item edges, both directions)."""
    sym = symmetric(ctx, attribution(ctx, user, item))
    ue = ctx.ckg.out.of(ctx.user_node(user))
    return ctx.ckg.dst[ue], sym[ue]


def _entity_contributions(ctx: ExplainContext, sym: np.ndarray) -> list[Contribution]:
    """Non-item KG entities weighted by the attribution of their edges (each pair once)."""
    g = ctx.ckg
    nz = np.nonzero(sym)[0]
    ent = nz[(g.src[nz] >= ctx.n_items) & (g.src[nz] < ctx.n_entities)]
    if len(ent) == 0:
        return []
    uniq, inv = np.unique(g.src[ent], return_inverse=True)
    sums = np.bincount(inv, weights=sym[ent], minlength=len(uniq))
    return [
        Contribution("entity", ctx.node(uniq[j]), ctx.name(uniq[j]), float(sums[j]))
        for j in np.argsort(-sums, kind="stable")
    ]


def _edge_contributions(ctx: ExplainContext, sym: np.ndarray, n: int) -> list[Contribution]:
    g = ctx.ckg
    nz = np.nonzero(sym)[0]
    nz = nz[nz < g.reverse[nz]]  # one direction per edge pair
    top = nz[np.argsort(-np.abs(sym[nz]), kind="stable")[:n]]
    out = []
    for e in top:
        r = edge_record(ctx, e, sym[e])
        label = f"{ctx.name(g.src[e])} -{r.relation}-> {ctx.name(g.dst[e])}"
        out.append(Contribution("edge", f"{r.src} -{r.relation}-> {r.dst}", label, r.weight))
    return out


def explain(
    ctx: ExplainContext,
    user: int,
    item: int,
    *,
    score: float,
    rank: int,
    k: int = 10,
    n_paths: int = N_PATHS,
    n_edges: int = N_EDGES,
    max_nodes: int = MAX_NODES,
) -> Explanation:
    """Top attributed edges, history items, entities, and attributed paths / subgraph."""

    sym = symmetric(ctx, attribution(ctx, user, item))
    ue = ctx.ckg.out.of(ctx.user_node(user))
    hist = [
        Contribution("history_item", ctx.node(h), ctx.name(h), float(w))
        for h, w in sorted(zip(ctx.ckg.dst[ue], sym[ue], strict=True), key=lambda p: -p[1])
    ]
    scored = []
    for s in enumerate_paths(ctx, user, item):
        w = sym[s.eids]
        keep = (w != 0).all(axis=1)
        if keep.any():
            scored.append(ScoredPaths(s.kind, s.eids[keep], w[keep], aggregate(w[keep], "sum")))
    expl = Explanation(
        user=int(user),
        item=int(item),
        score=float(score),
        rank=int(rank),
        method="edges",
        model=ctx.model.name,
        contributions=tuple(
            hist + _entity_contributions(ctx, sym) + _edge_contributions(ctx, sym, n_edges)
        ),
        paths=top_paths(ctx, scored, n_paths),
        subgraph=subgraph(ctx, user, item, scored, max_nodes),
        extra={
            **ctx.names_extra(user, item),
            "attribution": "gradient x edge weight",
            "history_weights": "edges",  # what counterfactual.order_from reuses
            "path_total": path_total(scored),
        },
    )
    return with_sentence(expl)
