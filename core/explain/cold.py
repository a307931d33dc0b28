"""Explaining a new user: a context over a copy of the model with the user folded in.

`folded_context(ctx, items)` folds a user whose history is `items` into a copy of `ctx.model`
(core.models.foldin) and builds an `ExplainContext` over that copy, where the new user is an
ordinary user (the last one, named `NEW_USER`). Every explainer, the card, the deletion curve
and the counterfactual then work for the new user unchanged: re-scoring "without these items"
re-fits the new user's row from the fitted one, anchored on the whole profile, exactly as for a
trained user. The original context and model are never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.explain.base import parse_node_id
from core.explain.ckg import CKG, CSR
from core.explain.context import ExplainContext
from core.models.base import ModelInputs, NotSupported, can_rescore
from core.models.foldin import FoldedUser, FoldInConfig, fold_in

NEW_USER = "(new user)"  # the folded-in user's display name and raw id


@dataclass(frozen=True)
class FoldedContext:
    """`ctx` holds the grown model; `user` is the new user's id in it; `folded` says how."""

    ctx: ExplainContext
    user: int
    folded: FoldedUser

    @property
    def same_for_everyone(self) -> bool:
        """True for a model whose list does not read the user at all (MostPop)."""
        return self.folded.method == "same-for-everyone"


def model_inputs(ctx: ExplainContext) -> ModelInputs:
    """The inputs `ctx.model` was built from (the artifact's, else rebuilt from the context)."""
    if ctx.artifact is not None and ctx.artifact.inputs is not None:
        return ctx.artifact.inputs
    raise ValueError("this context was not loaded from an artifact; pass the model's inputs")


def seen_pairs(ctx: ExplainContext) -> np.ndarray:
    """Every (user, item) pair the context never recommends, int64 [S, 2]."""
    users = np.repeat(np.arange(ctx.n_users, dtype=np.int64), np.diff(ctx.seen_ptr))
    return np.stack([users, ctx.seen_items.astype(np.int64)], 1)


def folded_context(
    ctx: ExplainContext,
    items: Sequence[int],
    config: FoldInConfig | None = None,
    inputs: ModelInputs | None = None,
) -> FoldedContext:
    """Fold a user with history `items` (internal item ids, in the order added) into a copy of
    ctx's model and return a context over it. ValueError for an empty profile or a bad id."""
    if not can_rescore(ctx.model):  # its card could explain nothing about the profile
        raise NotSupported(f"{ctx.model.name} cannot re-score a history, so cannot take a new user")
    base = inputs if inputs is not None else model_inputs(ctx)
    folded = fold_in(ctx.model, base, items, config or FoldInConfig())
    user = folded.user
    ckg = ckg_with_user(ctx.ckg, np.sort(folded.items))
    grown = ctx.with_new_user(folded.model, folded.items, NEW_USER, ckg)
    return FoldedContext(ctx=grown, user=user, folded=folded)


def items_from_raw(ctx: ExplainContext, raw_ids: Sequence[str]) -> list[int]:
    """Internal ids of raw item ids; ValueError naming the first unknown one."""
    index = {raw: i for i, raw in enumerate(ctx.item_raw)}
    out = []
    for raw in raw_ids:
        raw = raw.strip()
        if raw not in index:
            examples = ", ".join(ctx.item_raw[:3])
            raise ValueError(f"unknown item '{raw}' (e.g. {examples})")
        out.append(index[raw])
    return out


def context_namer(ctx: ExplainContext) -> Callable[[str], str]:
    """Node id -> display text read from the context itself (a grown context's new user and
    new item have no entry in the dataset): "user RAW", "Title (RAW)", entity names."""

    def name(nid: str) -> str:
        kind, idx = parse_node_id(nid)
        if kind == "u":
            return f"user {ctx.user_names[idx]}"
        if kind == "i":
            return f"{ctx.entity_names[idx]} ({ctx.item_raw[idx]})"
        return str(ctx.entity_names[idx])

    return name


def ckg_with_user(ckg: CKG, items: np.ndarray) -> CKG:
    """`ckg` with one more user (the last node) who interacted with `items` (sorted, unique),
    laid out as core.graph.collaborative_kg lays out the grown inputs: [KG (T), inverse KG (T),
    user -> item (N + n), item -> user (N + n)], the new user's pairs last in their blocks
    (pairs are sorted by user). The same arrays as building it afresh, without re-sorting the
    KG's triples."""
    n_rel, n = ckg.n_kg_relations, len(ckg.out.ptr)  # old node count + 1: the new user's id
    cut = int((ckg.rel < 2 * n_rel + 1).sum())  # end of the user -> item block
    user = np.full(len(items), n - 1, np.int64)
    ui, iu = np.full(len(items), 2 * n_rel), np.full(len(items), 2 * n_rel + 1)
    src = np.concatenate([ckg.src[:cut], user, ckg.src[cut:], items])
    dst = np.concatenate([ckg.dst[:cut], items, ckg.dst[cut:], user])
    rel = np.concatenate([ckg.rel[:cut], ui, ckg.rel[cut:], iu])
    keys = src * n + dst
    order = np.argsort(keys, kind="stable").astype(np.int64)
    n_ui = cut + len(items) - 2 * int((rel < n_rel).sum())  # user -> item edges, N + n
    t = int((rel < n_rel).sum())
    e = np.arange(len(rel), dtype=np.int64)
    reverse = np.select([e < t, e < 2 * t, e < 2 * t + n_ui], [e + t, e - t, e + n_ui], e - n_ui)
    return CKG(
        src=src, dst=dst, rel=rel, out=CSR.group(src, n), inc=CSR.group(dst, n),
        reverse=reverse.astype(np.int64), key_order=order, sorted_keys=keys[order],
        relation_names=ckg.relation_names, n_kg_relations=n_rel,
    )  # fmt: skip
