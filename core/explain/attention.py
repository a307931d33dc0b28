"""Attention explainer: the model's own target attention over the user's history.

Contributions:
- history_item: the softmax weight of each history item for this candidate (sums to 1).
- attribute_type: the softmax weight of each KG attribute type (relation) for this candidate.
- entity: for each KG entity the candidate shares with history items, the summed attention of
  those history items — "you liked X and Y (60% of the attention), both linked to Z".
Paths are the KG paths user -> history item (-> entity) -> item, each scored by the attention
weight of its history item, so the graph view can draw what the attention points at.
"""

from __future__ import annotations

import numpy as np
import torch

from core.explain.base import Contribution, Explanation
from core.explain.context import ExplainContext
from core.explain.kg_paths import (
    MAX_NODES,
    N_PATHS,
    contributions,
    history_scored,
    path_total,
    subgraph,
    top_paths,
)
from core.explain.text import with_sentence
from core.models.base import AttentionWeights, Recommender
from core.models.base import supports as declares


@torch.no_grad()
def weights(ctx: ExplainContext, user: int, items: np.ndarray) -> AttentionWeights:
    cand = torch.as_tensor(np.asarray(items, dtype=np.int64), device=ctx.device)
    return ctx.model.attention_weights(int(user), cand)


def attention_matrix(
    ctx: ExplainContext, user: int, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap data: (history items int64 [T], weights float [C, T]) for candidate `items`."""
    aw = weights(ctx, user, items)
    return aw.history.cpu().numpy().astype(np.int64), aw.item_weights.double().cpu().numpy()


def explain(
    ctx: ExplainContext,
    user: int,
    item: int,
    *,
    score: float,
    rank: int,
    k: int = 10,
    n_paths: int = N_PATHS,
    max_nodes: int = MAX_NODES,
) -> Explanation:
    """Attention weights of history items, attribute types and shared entities for the item."""

    aw = weights(ctx, user, np.array([item]))
    history = aw.history.cpu().numpy().astype(np.int64)
    w = aw.item_weights[0].double().cpu().numpy()
    hist = [
        Contribution("history_item", ctx.node(h), ctx.name(h), float(x))
        for h, x in sorted(zip(history, w, strict=True), key=lambda p: -p[1])
    ]
    attrs = [
        Contribution("attribute_type", name, name, float(x))
        for name, x in zip(
            aw.attribute_types, aw.attribute_weights[0].double().cpu().tolist(), strict=True
        )
    ]
    scored = history_scored(ctx, user, item, history, w)
    entities = tuple(c for c in contributions(ctx, scored) if c.kind == "entity")
    expl = Explanation(
        user=int(user),
        item=int(item),
        score=float(score),
        rank=int(rank),
        method="attention",
        model=ctx.model.name,
        contributions=tuple(hist) + tuple(sorted(attrs, key=lambda c: -c.weight)) + entities,
        paths=top_paths(ctx, scored, n_paths),
        subgraph=subgraph(ctx, user, item, scored, max_nodes),
        extra={
            **ctx.names_extra(user, item),
            "history": history.tolist(),
            "path_total": path_total(scored),
        },
    )
    return with_sentence(expl)


def supports(model: Recommender) -> bool:
    return declares(model, "attention_weights")
