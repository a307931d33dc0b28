"""Launching a new item and finding who it would reach, and why.

`launch(ctx, title, attributes)` places the item in a copy of the model from its KG attributes
(core.models.launch) and builds an `ExplainContext` over the copy in which the item is an
ordinary item (the last one, titled `title`): every explainer and the card then explain it for
any user, through the entities it shares with their history. `Audience` is who it would reach:
every user's score and its rank among the user's unseen items, the users for whom it enters the
top-k (count, share, by activity quartile) and the users most likely to take it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.explain.cold import model_inputs, seen_pairs
from core.explain.context import ExplainContext
from core.models.base import ModelInputs
from core.models.launch import LaunchConfig, LaunchedItem, launch_item

NEW_ITEM = "new item"  # the launched item's raw id (shown as "Title (new item)")


@dataclass(frozen=True)
class Audience:
    """Who a new item reaches. scores float64 [U], ranks int64 [U] (1-based, among each user's
    unseen items), reached int64 [R] users with rank <= k (best rank first), quartiles:
    per activity quartile (training items), {quartile, min_train, max_train, users, reached,
    share}."""

    k: int
    scores: np.ndarray
    ranks: np.ndarray
    reached: np.ndarray
    quartiles: tuple[dict, ...]

    @property
    def count(self) -> int:
        return len(self.reached)

    @property
    def share(self) -> float:
        return self.count / max(len(self.scores), 1)

    def most_likely(self, n: int) -> np.ndarray:
        """The n users in whose own lists the item ranks highest (ties: higher score first),
        best first. int64 [n]. Ranks, not raw scores: a user's scores carry a per-user offset
        (TransE's -|u + r|^2) that orders no user's list but would order users."""
        return np.lexsort((-self.scores, self.ranks))[:n].astype(np.int64)


@dataclass(frozen=True)
class LaunchedContext:
    ctx: ExplainContext  # over the grown model; the new item is `item`
    item: int
    launched: LaunchedItem
    audience: Audience


def parse_attributes(ctx: ExplainContext, inputs: ModelInputs, pairs: Sequence[str]) -> np.ndarray:
    """ "RELATION=ENTITY" strings (ENTITY a display name or raw entity id) as the new item's KG
    triples, int64 [T, 3] (head, relation, tail) with -1 for the new item, on the side items
    take in that relation's triples. ValueError naming the first one that does not resolve."""
    relations = {name: r for r, name in enumerate(inputs.relation_names)}
    raw = ctx.dataset.entity_ids.raw if ctx.dataset is not None else ()
    kg = np.asarray(inputs.kg, np.int64).reshape(-1, 3)
    rows = []
    for pair in pairs:
        rel, sep, value = pair.partition("=")
        rel, value = rel.strip(), value.strip()
        if not sep or rel not in relations:
            known = ", ".join(inputs.relation_names)
            raise ValueError(
                f"attribute '{pair}': expected RELATION=ENTITY, RELATION one of {known}"
            )
        r = relations[rel]
        of_r = kg[kg[:, 1] == r]
        item_is_head = (of_r[:, 0] < ctx.n_items).sum() >= (of_r[:, 2] < ctx.n_items).sum()
        used = set((of_r[:, 2] if item_is_head else of_r[:, 0]).tolist())
        found = [
            e
            for e in range(ctx.n_items, ctx.n_entities)
            if ctx.entity_names[e] == value or (raw and raw[e] == value)
        ]
        found = [e for e in found if e in used] or found
        if not found:
            examples = ", ".join(ctx.entity_names[e] for e in sorted(used)[:3])
            raise ValueError(
                f"attribute '{pair}': no entity '{value}' (for {rel}, e.g. {examples})"
            )
        rows.append((-1, r, found[0]) if item_is_head else (found[0], r, -1))
    return np.asarray(rows, np.int64).reshape(-1, 3)


def relation_entities(ctx: ExplainContext, inputs: ModelInputs, relation: str) -> list[int]:
    """The non-item entities items are linked to by `relation` (its attribute values), by name."""
    r = list(inputs.relation_names).index(relation)
    kg = np.asarray(inputs.kg, np.int64).reshape(-1, 3)
    ends = kg[kg[:, 1] == r][:, [0, 2]].ravel()
    found = np.unique(ends[ends >= ctx.n_items]).tolist()
    return sorted(found, key=lambda e: ctx.entity_names[e].lower())


def launch(
    ctx: ExplainContext,
    title: str,
    attributes: np.ndarray,
    k: int = 10,
    config: LaunchConfig | None = None,
    inputs: ModelInputs | None = None,
) -> LaunchedContext:
    """Place a new item (KG triples int64 [T, 3], -1 for the item: see parse_attributes) in a
    copy of ctx's model; its context and its audience at top-`k`."""
    base = inputs if inputs is not None else model_inputs(ctx)
    launched = launch_item(ctx.model, base, attributes, config)
    item = launched.item
    names = ctx.entity_names
    grown = ExplainContext.build(
        launched.model,
        launched.inputs,
        user_names=ctx.user_names,
        entity_names=(*names[:item], str(title), *names[item:]),
        item_raw=(*ctx.item_raw, NEW_ITEM),
        seen=seen_pairs(ctx),
    )
    grown = dataclasses.replace(grown, refit=ctx.refit)
    return LaunchedContext(grown, item, launched, audience(grown, item, k))


@torch.no_grad()
def audience(ctx: ExplainContext, item: int, k: int, chunk: int = 1024) -> Audience:
    """Every user's score and rank for `item` (see Audience), computed in user chunks."""
    scores = np.zeros(ctx.n_users)
    ranks = np.zeros(ctx.n_users, np.int64)
    for u0 in range(0, ctx.n_users, chunk):
        users = torch.arange(u0, min(u0 + chunk, ctx.n_users), device=ctx.device)
        block = ctx.model.score(users).double().cpu().numpy()  # [B, n_items]
        for b, u in enumerate(users.tolist()):
            block[b, ctx.seen(u)] = -np.inf
        own = block[:, item].copy()
        scores[u0 : u0 + len(users)] = own
        ranks[u0 : u0 + len(users)] = (block > own[:, None]).sum(1) + 1
    reached = np.flatnonzero(ranks <= k)
    reached = reached[np.lexsort((-scores[reached], ranks[reached]))].astype(np.int64)
    return Audience(k, scores, ranks, reached, _quartiles(ctx, ranks <= k))


def _quartiles(ctx: ExplainContext, hit: np.ndarray) -> tuple[dict, ...]:
    """Reach per activity quartile: users ordered by training items, cut in four."""
    activity = np.diff(ctx.history_ptr)
    order = np.argsort(activity, kind="stable")
    out = []
    for q, users in enumerate(np.array_split(order, 4), start=1):
        if not len(users):
            continue
        got = int(hit[users].sum())
        out.append({"quartile": q, "min_train": int(activity[users].min()),
                    "max_train": int(activity[users].max()), "users": len(users),
                    "reached": got, "share": got / len(users)})  # fmt: skip
    return tuple(out)
