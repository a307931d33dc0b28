"""Heatmap data: recommended items (rows) x the user's history items (columns).

Each model shows its own evidence:
- attention models: their target attention over the history (rows sum to 1);
- models with KG edge attention (KGAT): the attention flowing along the KG paths between the
  history item and the recommended item. Cell (c, t) sums the path scores (products of KGAT's
  normalised attention pi along the path, see core.explain.paths) of every path
  user -> history item t -> ... -> recommended item c, then each row is divided by its total, so
  a cell is the history item's share of the path attention that reaches the recommended item;
- other models with entity embeddings: cosine similarity of the item embeddings (not a share).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.explain import kg_paths
from core.explain.attention import attention_matrix, supports
from core.explain.context import ExplainContext
from core.models.base import NotSupported

KIND_ATTENTION = "attention weight"
KIND_PATHS = "share of KGAT path attention"
KIND_COSINE = "embedding cosine"


@dataclass(frozen=True)
class HeatmapData:
    """weights float [C, T] (row c = items[c]); history int64 [T]; kind: what a cell means."""

    weights: np.ndarray
    history: np.ndarray
    kind: str


def path_attention_matrix(ctx: ExplainContext, user: int, items: Sequence[int]) -> np.ndarray:
    """float [C, T] over `ctx.history(user)`: per recommended item, each history item's share of
    the summed attention of the paths from the user to the item through it (rows sum to 1, or
    are all 0 when no path exists). Needs KG edge attention (NotSupported otherwise)."""
    if ctx.edge_attention is None:
        raise NotSupported(f"{ctx.model.name} has no attention over the knowledge graph")
    history = ctx.history(user)
    col = {int(h): j for j, h in enumerate(history)}
    out = np.zeros((len(items), len(history)))
    for c, item in enumerate(items):
        for s in kg_paths.enumerate_paths(ctx, user, int(item)):
            score = ctx.edge_attention[s.eids].prod(axis=1)  # [P]
            first = ctx.ckg.dst[s.eids[:, 0]]  # history item each path leaves the user by
            cols = np.array([col.get(int(h), -1) for h in first])
            ok = cols >= 0
            np.add.at(out[c], cols[ok], score[ok])
        total = out[c].sum()
        if total > 0:
            out[c] /= total
    return out


def heatmap_data(
    ctx: ExplainContext, user: int, items: Sequence[int], max_cols: int = 20
) -> HeatmapData | None:
    """The model's own heatmap for `user`'s recommended `items` (see the module docstring), with
    the `max_cols` history columns of largest weight kept in history order. None when the
    model has neither attention nor entity embeddings."""

    items = np.asarray(items, dtype=np.int64)
    if supports(ctx.model):
        history, weights = attention_matrix(ctx, user, items)
        found = HeatmapData(
            np.asarray(weights, float), np.asarray(history, np.int64), KIND_ATTENTION
        )
    elif ctx.edge_attention is not None:
        found = HeatmapData(path_attention_matrix(ctx, user, items), ctx.history(user), KIND_PATHS)
    elif ctx.entity_emb is not None:
        history = ctx.history(user)
        emb = ctx.entity_emb
        found = HeatmapData(emb[items] @ emb[history].T, history, KIND_COSINE)
    else:
        return None
    return _heaviest_columns(found, max_cols)


def _heaviest_columns(data: HeatmapData, max_cols: int) -> HeatmapData:
    if data.weights.shape[1] <= max_cols:
        return data
    cols = np.sort(np.argsort(-data.weights.max(axis=0), kind="stable")[:max_cols])
    return HeatmapData(data.weights[:, cols], data.history[cols], data.kind)
