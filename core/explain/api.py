"""What the CLI, the dashboard and the benchmarks call: explain one recommendation, a user's
top-k, or fetch the attention heatmap's data. All inputs are internal ids."""

from __future__ import annotations

import numpy as np

from core.explain import attention
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.readable import readable
from core.explain.registry import EXPLAINERS, supported_methods
from core.models.base import NotSupported


def _check(ctx: ExplainContext, method: str) -> None:
    if method not in EXPLAINERS:
        raise NotSupported(f"unknown explanation method '{method}'; known: {', '.join(EXPLAINERS)}")
    if method not in supported_methods(ctx):
        offered = ", ".join(supported_methods(ctx)) or "none"
        raise NotSupported(
            f"model {ctx.model.name} cannot explain by '{method}' (it offers: {offered})"
        )


def explain(
    ctx: ExplainContext, user: int, item: int, method: str, k: int = 10, **options
) -> Explanation:
    """Explain why `item` is (or is not) recommended to `user` by `method`.

    k is the size of the recommendation list (the counterfactual pushes the item out of it).
    Raises NotSupported for an unknown method or one the model cannot serve, IndexError for
    an out-of-range user or item.
    """
    _check(ctx, method)
    if not (0 <= user < ctx.n_users and 0 <= item < ctx.n_items):
        raise IndexError(f"user {user} or item {item} out of range")
    scores = ctx.scores(user)
    rank = ctx.rank(user, scores, item)
    expl = EXPLAINERS[method](ctx, user, item, score=float(scores[item]), rank=rank, k=k, **options)
    return readable(expl)  # id-only entities named by their role (readable.py)


def explain_top_k(
    ctx: ExplainContext, user: int, k: int, method: str, **options
) -> list[Explanation]:
    """Explanations of the user's top-k recommendations (training items excluded), best first."""
    _check(ctx, method)
    scores = ctx.scores(user)
    top = ctx.top_k(user, k, scores)
    fn = EXPLAINERS[method]
    return [
        readable(fn(ctx, user, int(i), score=float(scores[i]), rank=r + 1, k=k, **options))
        for r, i in enumerate(top)
    ]


def attention_matrix(
    ctx: ExplainContext, user: int, items: np.ndarray | list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap data: (history items int64 [T], attention float [C, T]; rows are `items`)."""
    _check(ctx, "attention")
    return attention.attention_matrix(ctx, user, np.asarray(items, dtype=np.int64))
