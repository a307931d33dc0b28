"""What-if re-ranking: a user's list after editing their history (remove items, add items).

The UI's what-if control and the profile builder call these; both rest on the model's declared
re-scoring capabilities and raise `NotSupported` for models without them. A profile is a new
user folded in (core.explain.cold), never an existing user with a borrowed history.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.explain.cold import FoldedContext
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


def profile_top_k(folded: FoldedContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(items int64 [k], scores float [k]) of a folded-in profile (core.explain.cold): the new
    user's own top-k; the profile's items are never recommended."""
    scores = folded.ctx.scores(folded.user)
    items = folded.ctx.top_k(folded.user, k, scores)
    return items, scores[items]


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


def profile_influence(folded: FoldedContext, items: Sequence[int]) -> np.ndarray:
    """Leave-one-out influence of each profile item on each of `items`: the new user's score
    minus the score after re-scoring the profile without that one item (one batched call: the
    model's own "without these items", a re-fit for models with user parameters). float64
    [len(items), len(profile)]; positive = the profile item pushes the recommended item up."""
    ctx, user, prof = folded.ctx, folded.user, folded.folded.items
    items = np.asarray(items, dtype=np.int64)
    full = ctx.scores(user)[items]
    rest = [np.delete(prof, j) for j in range(len(prof))]
    return full[:, None] - ctx.scores_with_histories(user, rest)[:, items].T
