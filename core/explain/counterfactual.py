"""Counterfactual explainer: the smallest found set of history items whose removal pushes the
item out of the user's top-k, with the new rank, verified by an independent re-scoring.

Which re-scoring answers "without these items" (`variant`, recorded on the result):
- "refit" (default for models with free user parameters: BPR-MF, LightGCN, KGAT, TransE/R): the
  user's own parameters are re-fitted on the edited history with everything else frozen, then
  the edited graph is re-propagated (core.models.refit): what the model would have learned.
  The fit is anchored (ExplainContext.refit): the unedited history re-fits to the learned
  parameters exactly, so the baseline is the model's own ranking;
- "inference" (the labelled alternative, and the default for the attention model): learned
  parameters kept, the edited graph / history re-scored: what one forward pass computes.

Search, each step one batched model call over all items (exact ranks, not estimates): history
items ordered by an attribution (`history_order`); every prefix of length 0..5 at once (then
6..max_removals in a second call only when none of those works); the shortest prefix that
pushes the item below rank k wins (the empty prefix is the
baseline: the same variant with the full history, so both sides compare like for like). Then
greedy pruning: all single-item drops of the set in one call; the least important item whose
drop keeps the item out of the top-k goes; repeat. The set returned is minimal with respect
to single removals. Ranks are among the user's original candidates before and after.

Validity is not the search's own verdict: `verify` re-scores the returned set through the
model's separately written `reference_scores` (a full re-propagation of the edited graph built
from scratch), so a wrong set fails it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from core.explain import attention, edges, influence, kg_paths, paths
from core.explain.base import Contribution, Counterfactual, Explanation, parse_node_id
from core.explain.context import ExplainContext, Rescoring
from core.explain.text import with_sentence
from core.models.base import NotSupported, Recommender, can_rescore

MAX_REMOVALS = 10
FIRST_PROBE = 5  # prefix lengths re-scored in the search's first batched call


def order_source(ctx: ExplainContext) -> str:
    """Which attribution orders the search for this model (see `history_order`)."""

    if attention.supports(ctx.model):
        return "attention"
    # KGAT's paths carry this attribution too (paths.uses_attribution): its attention product
    # ranked history items like chance on ml-100k (deletion ratio@3 1.7, the attribution 6.2-6.7)
    if edges.supports(ctx.model) and (not paths.supports(ctx) or paths.uses_attribution(ctx)):
        return "edges"
    if influence.supports(ctx.model):
        return "influence"
    return "paths" if paths.supports(ctx) else "path count"


def history_order(ctx: ExplainContext, user: int, item: int) -> tuple[np.ndarray, np.ndarray, str]:
    """History items most responsible first, their attribution weights, and the source used
    (`order_source`): the model's attention, gradient x edge weight (one backward pass;
    LightGCN, KGAT), the item-item similarity of the model's embeddings (BPR-MF, see
    core.explain.influence), KG-path shares (TransE/R without an influence), or — for models
    with none of these — the number of CKG paths (shared entities, co-interacting users)
    through each history item. The order only steers the search; the result is verified by
    re-scoring."""

    history = ctx.history(user)
    source = order_source(ctx)
    if source == "attention":
        aw = attention.weights(ctx, user, np.array([item]))
        hist = aw.history.cpu().numpy().astype(np.int64)
        return _sorted(hist, aw.item_weights[0].double().cpu().numpy(), history, source)
    if source == "edges":
        hist, w = edges.history_attribution(ctx, user, item)
        return _sorted(hist, w, history, source)
    if source == "influence":
        hist, w = influence.history_influence(ctx, user, item)
        return _sorted(hist, w, history, source)
    sets = kg_paths.enumerate_paths(ctx, user, item)
    if source == "paths":
        weigh = lambda e: kg_paths.edge_weights(ctx, e)  # noqa: E731
    else:  # no attribution of its own: count the CKG paths through each history item
        weigh = lambda e: np.ones(e.shape)  # noqa: E731
    scored = kg_paths.score_sets(sets, weigh, "product")
    got = [c for c in kg_paths.contributions(ctx, scored) if c.kind == "history_item"]
    hist = np.array([parse_node_id(c.id)[1] for c in got], dtype=np.int64)
    return _sorted(hist, np.array([c.weight for c in got]), history, source)


def order_from(ctx: ExplainContext, expl: Explanation) -> tuple[np.ndarray, np.ndarray, str] | None:
    """`history_order` read off an explanation of the same pair whose history-item weights are
    that attribution over the whole history (extra "history_weights", set by the edges
    explainer and KGAT's attributed paths), so a card does its backward pass once; None when
    the explanation carries another one."""
    source = expl.extra.get("history_weights")
    if source is None or source != order_source(ctx):
        return None
    got = [c for c in expl.contributions if c.kind == "history_item"]
    hist = np.array([parse_node_id(c.id)[1] for c in got], dtype=np.int64)
    weights = np.array([c.weight for c in got], dtype=np.float64)
    return _sorted(hist, weights, ctx.history(expl.user), source)


def _sorted(hist: np.ndarray, w: np.ndarray, history: np.ndarray, source: str):
    """Order by weight; history items the attribution did not mention go last (weight 0)."""
    full = dict.fromkeys(history.tolist(), 0.0)
    full.update({int(h): float(x) for h, x in zip(hist, w, strict=True) if int(h) in full})
    items = np.array(list(full), dtype=np.int64)
    weights = np.array(list(full.values()))
    order = np.argsort(-weights, kind="stable")
    return items[order], weights[order], source


def kept_history(ctx: ExplainContext, user: int, removed: np.ndarray) -> np.ndarray:
    """The user's history without `removed`, in training-row order (sequence models read the
    latest rows). int64 [T']."""
    hist = ctx.history(user)
    return hist[~np.isin(hist, removed)]


def ranks_without(
    ctx: ExplainContext,
    user: int,
    item: int,
    removals: list[np.ndarray],
    variant: Rescoring | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (ranks int64 [B], scores float [B]) of `item` after each removal set, from one
    batched re-scoring."""
    ranks, scores, _ = _ranks(ctx, user, item, removals, variant)
    return ranks, scores


def _ranks(ctx, user, item, removals, variant):
    hists = [kept_history(ctx, user, r) for r in removals]
    scores, params = ctx.rescore(user, hists, variant)
    ranks = np.array([ctx.rank(user, s, item) for s in scores], dtype=np.int64)
    return ranks, scores[:, item], params


def rank_without(
    ctx: ExplainContext, user: int, item: int, removed: np.ndarray, variant: Rescoring | None = None
) -> tuple[int, float]:
    """Exact (rank, score) of `item` after removing `removed` from the user's history."""
    ranks, scores = ranks_without(ctx, user, item, [removed], variant)
    return int(ranks[0]), float(scores[0])


@dataclass(frozen=True)
class Found:
    """A working removal set from `search`, ranked by the batched re-scoring."""

    removed: np.ndarray  # int64 [m] history items
    rank: int
    score: float
    baseline: int  # rank with the full history, same variant
    params: Tensor | None  # the user's re-fitted parameters for the kept history ("refit")


def search(
    ctx: ExplainContext,
    user: int,
    item: int,
    order: np.ndarray,
    k: int,
    max_removals: int,
    variant: Rescoring | None = None,
) -> Found | None:
    """The shortest working prefix of `order`, pruned; None when no prefix of <= max_removals
    items works or the full-history baseline already ranks the item below k."""
    n = min(max_removals, len(order))
    first = min(n, FIRST_PROBE)  # sets are usually small: probe 0..5 first, the rest if needed
    ranks, scores, params = _ranks(ctx, user, item, [order[:m] for m in range(first + 1)], variant)
    baseline = int(ranks[0])
    if baseline > k:
        return None
    if not (ranks[1:] > k).any() and n > first:
        more = _ranks(ctx, user, item, [order[:m] for m in range(first + 1, n + 1)], variant)
        ranks, scores = np.concatenate([ranks, more[0]]), np.concatenate([scores, more[1]])
        params = None if params is None else torch.cat([params, more[2]])
    hits = np.nonzero(ranks[1:] > k)[0]
    if len(hits) == 0:
        return None
    m = int(hits[0]) + 1
    best = Found(order[:m], int(ranks[m]), float(scores[m]), baseline, _row(params, m))
    while len(best.removed) > 1:  # one batched call per pruning step
        trials = [np.delete(best.removed, j) for j in range(len(best.removed))]
        r, s, p = _ranks(ctx, user, item, trials, variant)
        ok = np.nonzero(r > k)[0]
        if len(ok) == 0:
            break
        j = int(ok[-1])  # the least important item (order is most important first) that can go
        best = Found(trials[j], int(r[j]), float(s[j]), baseline, _row(p, j))
    return best


def _row(params: Tensor | None, j: int) -> Tensor | None:
    return None if params is None else params[j]


def verify(
    ctx: ExplainContext,
    user: int,
    item: int,
    removed: np.ndarray,
    k: int,
    variant: Rescoring | None = None,
    params: Tensor | None = None,
) -> tuple[bool, int]:
    """Independent check of a counterfactual: the item's rank after removing `removed`, by the
    model's `reference_scores` (a full re-propagation built from scratch, not the batched path
    the search used; for "refit" with the re-fitted `params`, re-fitted here when not given).
    Returns (rank > k, rank)."""
    kept = kept_history(ctx, user, removed)
    scores = ctx.reference_scores(user, kept, variant, params)
    rank = ctx.rank(user, scores, item)
    return rank > k, rank


def explain(
    ctx: ExplainContext,
    user: int,
    item: int,
    *,
    score: float,
    rank: int,
    k: int = 10,
    max_removals: int = MAX_REMOVALS,
    variant: Rescoring | None = None,
    order: tuple[np.ndarray, np.ndarray, str] | None = None,
) -> Explanation:
    """The counterfactual, plus the attribution that ordered the search as contributions.
    order: `history_order`'s result when the caller already has it (`order_from`)."""

    if not supports(ctx.model):
        raise NotSupported(f"{ctx.model.name} cannot re-score with an edited history")
    variant = variant or ctx.rescoring
    order, weights, source = order or history_order(ctx, user, item)
    found = search(ctx, user, item, order, k, max_removals, variant)
    cf = None
    if found is not None:
        valid, checked = verify(ctx, user, item, found.removed, k, variant, found.params)
        cf = Counterfactual(
            removed=tuple(ctx.node(h) for h in found.removed),
            removed_names=tuple(ctx.name(h) for h in found.removed),
            new_rank=int(found.rank),
            new_score=float(found.score),
            k=int(k),
            valid=bool(valid),
            variant=str(variant),
            baseline_rank=int(found.baseline),
            checked_rank=int(checked),
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
            "variant": str(variant),
        },
    )
    return with_sentence(expl)


def supports(model: Recommender) -> bool:
    """The registry's question (core.explain.registry): `can_rescore`."""
    return can_rescore(model)
