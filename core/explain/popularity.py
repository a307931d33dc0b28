"""Popularity explainer (MostPop): "popular among users like you", with the numbers.

MostPop scores an item by its number of distinct training users (`item_popularity()`), the
same for everyone, so the faithful explanation is that count. What makes it useful to a user
is the part of it that comes from users like them: users who share at least one training
item with the user. Contributions:
- feature "popularity": the item's training users (the score itself);
- feature "similar users": how many of the users like you chose the item, and their share;
- history_item: per history item, the users who chose both it and the item.
Paths are the collaborative paths user -> history item -> other user -> item.
"""

from __future__ import annotations

import numpy as np

from core.explain.base import Contribution, Explanation
from core.explain.context import ExplainContext
from core.explain.kg_paths import (
    MAX_NODES,
    N_PATHS,
    ScoredPaths,
    enumerate_paths,
    subgraph,
    top_paths,
)
from core.explain.text import with_sentence
from core.models.base import Recommender
from core.models.base import supports as declares


def similar_users(ctx: ExplainContext, user: int) -> np.ndarray:
    """Users (other than `user`) sharing at least one training item with `user`. int64 [S]."""
    g = ctx.ckg
    ue = g.out.of(ctx.user_node(user))
    back = g.out.of_many(g.dst[ue])  # item -> user edges (and KG edges) of the history
    users = g.dst[back]
    users = users[(users >= ctx.n_entities) & (users != ctx.user_node(user))]
    return np.unique(users) - ctx.n_entities


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
    """The item's popularity, the share of similar users who chose it, and the history items
    through which they connect."""

    g = ctx.ckg
    popularity = float(ctx.model.item_popularity()[int(item)])
    like_you = similar_users(ctx, user)
    item_users = g.src[g.inc.of(int(item))]
    item_users = item_users[item_users >= ctx.n_entities] - ctx.n_entities
    chose = np.intersect1d(like_you, item_users)
    sets = [s for s in enumerate_paths(ctx, user, item) if s.kind == "user-item-user-item"]
    scored = [
        ScoredPaths(s.kind, s.eids, np.ones(s.eids.shape), np.ones(len(s.eids))) for s in sets
    ]
    via: dict[int, int] = {}
    for s in sets:
        for h in g.dst[s.eids[:, 0]]:
            via[int(h)] = via.get(int(h), 0) + 1
    hist = [
        Contribution("history_item", ctx.node(h), ctx.name(h), float(n))
        for h, n in sorted(via.items(), key=lambda p: -p[1])
    ]
    share = len(chose) / len(like_you) if len(like_you) else 0.0
    features = (
        Contribution(
            "feature", "popularity", f"{int(popularity)} of {ctx.n_users} users", popularity
        ),
        Contribution(
            "feature", "similar users", f"{len(chose)} of {len(like_you)} users like you", share
        ),
    )
    expl = Explanation(
        user=int(user),
        item=int(item),
        score=float(score),
        rank=int(rank),
        method="popularity",
        model=ctx.model.name,
        contributions=features + tuple(hist),
        paths=top_paths(ctx, scored, n_paths),
        subgraph=subgraph(ctx, user, item, scored, max_nodes),
        extra={
            **ctx.names_extra(user, item),
            "popularity": int(popularity),
            "n_users": int(ctx.n_users),
            "similar_users": int(len(like_you)),
            "similar_chose": int(len(chose)),
            "path_total": float(sum(len(s.eids) for s in sets)),
        },
    )
    return with_sentence(expl)


def supports(model: Recommender) -> bool:
    return declares(model, "item_popularity")
