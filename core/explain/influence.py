"""Influence explainer (BPR-MF): the history items whose removal would lower the item's score
most once the user's vector is re-fitted, by the influence-function estimate the model
declares (`Recommender.history_influence`: one Newton step of the same re-fit objective the
"refit" counterfactual runs, so the counterfactual and the deletion test check it).

Contributions: history_item weights are that estimated score drop (score units; negative =
removing it would raise the score). Paths are the KG paths user -> history item (-> entity) ->
item, each scored by its history item's positive influence, so the graph view has something
to draw for a model without a graph of its own.
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
from core.models.base import Recommender
from core.models.base import supports as declares


@torch.no_grad()
def history_influence(ctx: ExplainContext, user: int, item: int) -> tuple[np.ndarray, np.ndarray]:
    """(history items int64 [T], estimated score drop when each is removed, float [T])."""
    hist = ctx.history(user)
    w = ctx.model.history_influence(int(user), int(item), ctx._tensor(hist), ctx.refit)
    return hist, w.double().cpu().numpy()


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
    """History items by influence on the score, with the KG paths through the positive ones."""

    hist, w = history_influence(ctx, user, item)
    order = np.argsort(-w, kind="stable")
    hist_c = [
        Contribution("history_item", ctx.node(hist[j]), ctx.name(hist[j]), float(w[j]))
        for j in order
    ]
    scored = history_scored(ctx, user, item, hist, np.clip(w, 0, None))
    entities = tuple(c for c in contributions(ctx, scored) if c.kind == "entity")
    expl = Explanation(
        user=int(user),
        item=int(item),
        score=float(score),
        rank=int(rank),
        method="influence",
        model=ctx.model.name,
        contributions=tuple(hist_c) + entities,
        paths=top_paths(ctx, scored, n_paths),
        subgraph=subgraph(ctx, user, item, scored, max_nodes),
        extra={
            **ctx.names_extra(user, item),
            "attribution": "influence function of the user re-fit",
            "history_weights": "influence",  # what counterfactual.order_from reuses
            "path_total": path_total(scored),
        },
    )
    return with_sentence(expl)


def supports(model: Recommender) -> bool:
    return declares(model, "history_influence")
