"""Counterfactual explainer: the smallest found set of history items whose removal pushes the
item out of the user's top-k, with the new rank, verified by re-scoring.

Search: history items are ordered by an attribution (`history_order`) and the shortest prefix
of that order whose removal works is found with few re-scorings (each is a model call over all
items, so the new rank is exact, not estimated).
Then items are dropped from it again, least important first, while the rest still works: the
set returned is minimal with respect to single removals. Ranks are taken among the user's
original candidates (items outside the full training history) before and after.

Models whose `score_with_history` re-fits the user (BPR-MF fold-in) may rank the item differently
even with the full history; benchmarks report how often that re-fit keeps it in the top-k
(`fidelity.counterfactual_stats`: `baseline_in_top_k`).
"""

from __future__ import annotations

import numpy as np

from core.explain.base import Contribution, Counterfactual, Explanation, parse_node_id
from core.explain.context import ExplainContext
from core.models.base import NotSupported, Recommender

MAX_REMOVALS = 10


def history_order(ctx: ExplainContext, user: int, item: int) -> tuple[np.ndarray, np.ndarray, str]:
    """History items most responsible first, their attribution weights, and the source used:
    the model's attention, KG-path shares (KGAT: one pass over its stored attention), gradient
    x edge weight (one backward pass; LightGCN), or — for models with none of these — the
    number of CKG paths (shared entities, co-interacting users) through each history item.
    The order only steers the search; the result is verified by re-scoring."""
    from core.explain import attention, edges, paths

    history = ctx.history(user)
    if attention.supports(ctx.model):
        aw = attention.weights(ctx, user, np.array([item]))
        hist = aw.history.cpu().numpy().astype(np.int64)
        return _sorted(hist, aw.item_weights[0].double().cpu().numpy(), history, "attention")
    if edges.supports(ctx.model) and not paths.supports(ctx):  # paths: same idea, far cheaper
        hist, w = edges.history_attribution(ctx, user, item)
        return _sorted(hist, w, history, "edges")
    sets = paths.enumerate_paths(ctx, user, item)
    if paths.supports(ctx):
        weigh, source = (lambda e: paths.edge_weights(ctx, e)), "paths"
    else:  # no attribution of its own: count the CKG paths through each history item
        weigh, source = (lambda e: np.ones(e.shape)), "path count"
    scored = paths.score_sets(sets, weigh, "product")
    got = [c for c in paths.contributions(ctx, scored) if c.kind == "history_item"]
    hist = np.array([parse_node_id(c.id)[1] for c in got], dtype=np.int64)
    return _sorted(hist, np.array([c.weight for c in got]), history, source)


def _sorted(hist: np.ndarray, w: np.ndarray, history: np.ndarray, source: str):
    """Order by weight; history items the attribution did not mention go last (weight 0)."""
    full = dict.fromkeys(history.tolist(), 0.0)
    full.update({int(h): float(x) for h, x in zip(hist, w, strict=True) if int(h) in full})
    items = np.array(list(full), dtype=np.int64)
    weights = np.array(list(full.values()))
    order = np.argsort(-weights, kind="stable")
    return items[order], weights[order], source


def rank_without(
    ctx: ExplainContext, user: int, item: int, removed: np.ndarray
) -> tuple[int, float]:
    """Exact (rank, score) of `item` after removing `removed` from the user's history."""
    hist = ctx.history(user)
    kept = hist[~np.isin(hist, removed)]  # row order kept: sequence models read the latest rows
    scores = ctx.scores_with_history(user, kept)
    return ctx.rank(user, scores, item), float(scores[item])


def _shortest_prefix(
    ctx: ExplainContext, user: int, item: int, order: np.ndarray, k: int, max_removals: int
) -> tuple[int, int, float] | None:
    """Shortest prefix of `order` (<= max_removals) whose removal gives rank > k, as
    (length, rank, score); None if none works. Each probe is one exact re-scoring: the longest
    allowed prefix first (one call settles "not found", assuming a longer prefix pushes the
    item down at least as far; skipped when it would empty the history, where scores may all
    tie), then lengths 1, 2, 3, ... (sets are usually small, so this beats bisection)."""
    n = min(max_removals, len(order))
    if 0 < n < len(order) and rank_without(ctx, user, item, order[:n])[0] <= k:
        return None
    for m in range(1, n + 1):
        rank, score = rank_without(ctx, user, item, order[:m])
        if rank > k:
            return m, rank, score
    return None


def search(
    ctx: ExplainContext, user: int, item: int, order: np.ndarray, k: int, max_removals: int
) -> tuple[np.ndarray, int, float] | None:
    """Shortest working prefix, then single-removal pruning; None if nothing of size <=
    max_removals works. The returned rank and score come from re-scoring the returned set."""
    found = _shortest_prefix(ctx, user, item, order, k, max_removals)
    if found is None:
        return None
    m, rank, score = found
    chosen = list(order[:m])
    for h in reversed(order[: m - 1]):  # try to keep each, least important first
        trial = np.array([x for x in chosen if x != h], dtype=np.int64)
        r, s = rank_without(ctx, user, item, trial)
        if r > k:
            chosen, rank, score = list(trial), r, s
    return np.array(chosen, dtype=np.int64), rank, score


def explain(
    ctx: ExplainContext,
    user: int,
    item: int,
    *,
    score: float,
    rank: int,
    k: int = 10,
    max_removals: int = MAX_REMOVALS,
) -> Explanation:
    """The counterfactual, plus the attribution that ordered the search as contributions."""
    from core.explain.text import with_sentence

    if not supports(ctx.model):
        raise NotSupported(f"{ctx.model.name} cannot re-score with an edited history")
    order, weights, source = history_order(ctx, user, item)
    found = search(ctx, user, item, order, k, max_removals)
    cf = None
    if found is not None:
        removed, new_rank, new_score = found
        cf = Counterfactual(
            removed=tuple(ctx.node(h) for h in removed),
            removed_names=tuple(ctx.name(h) for h in removed),
            new_rank=int(new_rank),
            new_score=float(new_score),
            k=int(k),
            valid=bool(new_rank > k),
        )
    contribs = tuple(
        Contribution("history_item", ctx.node(h), ctx.name(h), float(w))
        for h, w in zip(order, weights, strict=True)
    )
    expl = Explanation(
        user=int(user),
        item=int(item),
        score=float(score),
        rank=int(rank),
        method="counterfactual",
        model=ctx.model.name,
        contributions=contribs,
        counterfactual=cf,
        extra={
            **ctx.names_extra(user, item),
            "attribution": source,
            "max_removals": int(max_removals),
            "k": int(k),
        },
    )
    return with_sentence(expl)


def supports(model: Recommender) -> bool:
    return type(model).score_with_history is not Recommender.score_with_history
