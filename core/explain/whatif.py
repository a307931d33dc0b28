"""What-if re-ranking: a user's list after editing their history (remove items, add items).

The UI's what-if control and the profile builder call these; both rest on the model's declared
`score_with_history` capability and raise `NotSupported` for models without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.explain.context import ExplainContext


def what_if(ctx: ExplainContext, user: int, removed: Sequence[int], k: int) -> pd.DataFrame:
    """Top-k after removing `removed` (item ids) from the user's training history.

    Returns one row per item: new rank, raw item id, title, score and the rank the item had
    with the full history (both ranks over the same unseen candidates). Raises NotSupported
    for models that cannot re-score an edited history.
    """
    history = ctx.history(user)
    kept = history[~np.isin(history, np.asarray(removed, dtype=np.int64))]
    before = ctx.scores(user)
    after = ctx.scores_with_history(user, kept)
    items = ctx.top_k(user, k, after)
    return pd.DataFrame(
        {
            "new rank": range(1, len(items) + 1),
            "item": [ctx.item_raw[i] for i in items],
            "title": [ctx.entity_names[i] for i in items],
            "score": after[items],
            "old rank": [ctx.rank(user, before, int(i)) for i in items],
        }
    )


def profile_scores(ctx: ExplainContext, base_user: int, profile: Sequence[int]) -> np.ndarray:
    """Scores of every item for a profile (item ids, in the order they were added) scored as
    `base_user` with that history. float64 [n_items]. Raises NotSupported (see what_if).

    Models with a learned vector per user (BPR-MF folds a fresh one in; LightGCN and KGAT keep
    the base user's and re-propagate the edited graph) depend on `base_user`; the attention
    model reads the history alone.
    """
    hist = np.asarray(list(dict.fromkeys(int(i) for i in profile)), dtype=np.int64)
    return ctx.scores_with_history(int(base_user), hist)


def profile_top_k(
    ctx: ExplainContext, base_user: int, profile: Sequence[int], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(items int64 [k], scores float [k]) for a profile: its own items are never recommended."""
    scores = profile_scores(ctx, base_user, profile).copy()
    scores[np.asarray(list(profile), dtype=np.int64)] = -np.inf
    k = min(k, ctx.n_items - len(set(profile)))
    top = np.argsort(-scores, kind="stable")[:k].astype(np.int64)
    return top, scores[top]


def search_titles(ctx: ExplainContext, query: str, limit: int = 20) -> list[int]:
    """Item ids whose title or raw id contains `query` (case-insensitive), titles starting with
    it first, at most `limit`. A blank query finds nothing."""
    q = query.strip().lower()
    if not q:
        return []
    hits = [
        i
        for i in range(ctx.n_items)
        if q in ctx.entity_names[i].lower() or q == ctx.item_raw[i].lower()
    ]
    hits.sort(key=lambda i: (not ctx.entity_names[i].lower().startswith(q), i))
    return hits[:limit]


def top_k_matrix(ctx: ExplainContext, users: Sequence[int], k: int) -> np.ndarray:
    """Top-k unseen items of each user in `users`: int64 [len(users), k]."""
    if not len(users):
        return np.zeros((0, k), np.int64)
    return np.stack([ctx.top_k(int(u), k) for u in users])


def profile_influence(
    ctx: ExplainContext, base_user: int, profile: Sequence[int], items: Sequence[int]
) -> np.ndarray:
    """Leave-one-out influence of each profile item on each of `items`: score with the whole
    profile minus score without that one item. float64 [len(items), len(profile)]; positive =
    the profile item pushes the recommended item up. Exact (one re-scoring per profile item).
    """
    prof = list(dict.fromkeys(int(i) for i in profile))
    items = np.asarray(items, dtype=np.int64)
    full = profile_scores(ctx, base_user, prof)[items]
    out = np.zeros((len(items), len(prof)))
    for j, p in enumerate(prof):
        rest = [i for i in prof if i != p]
        out[:, j] = full - profile_scores(ctx, base_user, rest)[items]
    return out


def history_matters(ctx: ExplainContext, base_user: int, profile: Sequence[int]) -> bool:
    """Whether editing this profile changes the scores at all (MostPop's never do): compares
    the profile with itself minus its first item."""
    prof = list(dict.fromkeys(int(i) for i in profile))
    if not prof:
        return True
    with_it = profile_scores(ctx, base_user, prof)
    try:
        without = profile_scores(ctx, base_user, prof[1:])
    except (RuntimeError, ValueError, IndexError):  # a model that needs a non-empty history
        return True
    return not np.allclose(with_it, without)
