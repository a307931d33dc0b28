"""Cards over a grown context (a folded-in user, a launched item; core.explain.cold / launch).

The page's shared cards read the cached context of a trained artifact; a new user or item lives
in a context of its own (cached in app/state.py), so its card is drawn from that context
directly, with the same renderer and the same parts.
"""

from __future__ import annotations

import streamlit as st

from app.components import tables
from app.components.explanation_card import CardParts, Measured, show_explanation_card
from app.components.kg_graph import build_kg_html
from core.explain import api, card
from core.explain.cold import context_namer
from core.explain.context import ExplainContext
from core.explain.present import path_shares
from core.models.base import NotSupported
from core.safe_text import md


def context_card(ctx: ExplainContext, user: int, item: int, k: int, key: str) -> None:
    """The whole explanation card of (user, item) in `ctx`, by the model's primary method."""
    try:
        method = card.primary_method(ctx)
        expl = api.explain(ctx, user, item, method, k)
    except (NotSupported, IndexError) as err:
        st.warning(f"No explanation: {md(err)}")
        return
    name = context_namer(ctx)

    def measure() -> Measured:
        parts = {p.name: p.value for p in card.rescoring_parts(ctx, expl, k)}
        cf = parts["counterfactual"]
        record = None if cf is None else cf.counterfactual
        note = "" if record is not None else card.missing_counterfactual_note(ctx)
        return Measured(parts["deletion"], record, note)

    graph = None
    if expl.subgraph is not None:
        graph = build_kg_html(expl.subgraph, expl.paths[:3], name=name)
    parts = CardParts(
        graph_html=graph,
        paths=tables.paths_frame(expl, name=name, shares=path_shares(ctx, expl)),
        contributions=tables.contributions_frame(
            expl, ["history_item", "entity", "attribute_type"], name=name
        ),
        edges=tables.edges_frame(expl, name=name),
        measure=measure,
    )
    show_explanation_card(expl, ctx.entity_names[item], key=key, parts=parts)
