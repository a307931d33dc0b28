"""Composite Streamlit views shared by pages: user picker, explanation block, report export."""

from __future__ import annotations

import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import links, llm_settings, selection, state, workspace
from app.components import tables
from app.components.explanation_card import (
    CardParts,
    Measured,
    counterfactual_text,
    show_explanation_card,
)
from app.components.heatmap import build_heatmap
from app.components.kg_graph import build_kg_html
from app.components.report import ReportSection, build_report_html
from app.sidebar import Selection
from core.data import Dataset
from core.explain import api, card, whatif
from core.explain.heatmap import HeatmapData, heatmap_data
from core.explain.present import node_namer, path_shares
from core.explain.readable import readable_namer
from core.models.base import NotSupported
from core.safe_text import md

LARGE = 5000  # above this many users a text box replaces the searchable list


def _random_user(ds: Dataset, key: str) -> None:
    st.session_state[key] = ds.user_ids.to_raw(random.randrange(ds.n_users))


def user_picker(ds: Dataset, key: str = "ue_user") -> int | None:
    """Searchable raw-id picker with a random-user button; returns the internal id or None."""
    raw = ds.user_ids.raw
    links.take("user", key, raw, "user")
    left, right = st.columns([4, 1])
    if len(raw) <= LARGE:
        if key in st.session_state and st.session_state[key] not in ds.user_ids:
            del st.session_state[key]  # a user of the previously selected dataset
        value = left.selectbox("User (type to search by id)", raw, key=key)
    else:
        st.session_state.setdefault(key, raw[0])
        value = left.text_input("User id", key=key)
    right.button(
        "Random user",
        icon=":material/casino:",
        key=f"{key}-random",
        on_click=_random_user,
        args=(ds, key),
    )
    internal = ds.user_ids.get(value)
    if internal is None:
        st.error(f"Unknown user '{md(value)}' in dataset {md(ds.name)}.")
    return internal


def history_frame(ds: Dataset, items) -> pd.DataFrame:
    return tables.items_frame([ds.title(i) for i in items], [ds.item_ids.to_raw(i) for i in items])


def heatmap(sel: Selection, model: str, user: int, items) -> go.Figure | None:
    found = state.heatmap_data(sel.key(model), sel.dataset_path, user, tuple(int(i) for i in items))
    return None if found is None else heatmap_figure(sel.dataset, items, found)


def heatmap_figure(ds: Dataset, items, found: HeatmapData) -> go.Figure:
    return build_heatmap(
        found.weights,
        [ds.title(i) for i in items],
        [ds.title(h) for h in found.history],
        title=f"Recommended items × history ({found.kind})",
    )


def _save_vote(
    sel: Selection, model: str, method: str, expl, vote: int, comment: str, narration=None
) -> None:
    from core.store.feedback import add_feedback  # SQLAlchemy only when a vote is cast

    engine = state.feedback_db(workspace.feedback_database())
    ds = sel.dataset
    add_feedback(
        engine,
        model=model,
        explainer=method,
        user=ds.user_ids.to_raw(expl.user),
        item=ds.item_ids.to_raw(expl.item),
        explanation_hash=expl.digest(),
        vote=vote,
        comment=comment,
        dataset=ds.name,
        **llm_settings.feedback_fields(narration),
    )


def card_parts(
    sel: Selection, model: str, user: int, item: int, method: str, k: int, expl, heat=None
) -> CardParts:
    """What the card draws next to `expl`: the explanation's graph, paths and tables at once,
    and the re-scoring parts of core.explain.card when the card asks (`measure`, cached)."""
    key, path = sel.key(model), sel.dataset_path
    ctx = state.context(key, path)
    name = readable_namer(expl, node_namer(sel.dataset))  # id-only entities read by role

    def measure() -> Measured:
        parts = state.card_rescoring(key, path, user, item, method, k)
        cf = parts["counterfactual"]
        record = None if cf is None else cf.counterfactual
        note = "" if record is not None else card.missing_counterfactual_note(ctx)
        sentence = state.headlined(key, path, user, item, method, k).sentence
        return Measured(parts["deletion"], record, note, sentence)

    return CardParts(
        heatmap=heat,
        graph_html=state.graph_html(key, path, user, item, method, k),
        paths=tables.paths_frame(expl, name=name, shares=path_shares(ctx, expl)),
        contributions=tables.contributions_frame(
            expl, ["history_item", "entity", "attribute_type"], name=name
        ),
        edges=tables.edges_frame(expl, name=name),
        measure=measure,
    )


def explanation_block(
    sel: Selection,
    model: str,
    user: int,
    item: int,
    method: str,
    k: int,
    key: str,
    heat=None,
    narrow: bool = False,
) -> None:
    """The complete explanation card of one recommendation, with feedback buttons."""
    # bound to what it explains: a comment typed for one user and item never reaches another's
    key = selection.context_key(key, sel.dataset.name, model, user, item, method)
    try:
        expl = state.explanation(sel.key(model), sel.dataset_path, user, item, method, k)
    except NotSupported as err:
        st.warning(f"{md(workspace.label(model))} cannot explain by {md(method)}: {md(err)}")
        return
    narr = llm_settings.narration(sel, model, user, item, method, k)
    show_explanation_card(
        expl,
        sel.dataset.title(item),
        key=key,
        parts=card_parts(sel, model, user, item, method, k, expl, heat),
        narration=narr,
        on_feedback=lambda vote, comment: _save_vote(sel, model, method, expl, vote, comment, narr),
        narrow=narrow,
    )


def report_builder(sel: Selection, model: str, user: int, method: str, k: int):
    """A callable producing the HTML report of the user's top-k explanations (run on click).

    Streamlit runs the callable outside the script run, where cached accessors warn "missing
    ScriptRunContext", so it calls core directly on the context fetched here."""
    ds, ctx = sel.dataset, state.context(sel.key(model), sel.dataset_path)
    model_label = workspace.label(model)

    def build() -> str:
        return user_report(ds, ctx, model_label, user, method, k)

    return build


def user_report(ds: Dataset, ctx, model_label: str, user: int, method: str, k: int) -> str:
    """The HTML report of `user`'s top-k explanations, from core calls only."""
    name = node_namer(ds)
    items = ctx.top_k(user, k)
    found = heatmap_data(ctx, user, items)
    sections = []
    for n, item in enumerate(items):
        expl = api.explain(ctx, user, int(item), method, k)
        sections.append(
            ReportSection(
                expl,
                ds.title(item),
                counterfactual_text(expl),
                tables.paths_frame(
                    expl, name=readable_namer(expl, name), shares=path_shares(ctx, expl)
                ),
                heatmap_figure(ds, items, found) if n == 0 and found is not None else None,
                None
                if expl.subgraph is None
                else build_kg_html(expl.subgraph, expl.paths[:3], name=name),
            )
        )
    facts = {
        "dataset": ds.name,
        "model": model_label,
        "method": method,
        "user": ds.user_ids.to_raw(user),
        "k": str(k),
    }
    return build_report_html(
        f"RecLens report: user {facts['user']}",
        facts,
        history_frame(ds, ctx.history(user)),
        sections,
    )


def _metric_config(frame: pd.DataFrame) -> dict:
    """Short headers with a tooltip and a number format per metric column."""
    config = {}
    for col in frame.columns[1:]:
        label, help_text, fmt = tables.metric_header(col)
        config[col] = st.column_config.NumberColumn(label, help=help_text or None, format=fmt)
    return config


def leaderboard(board: pd.DataFrame) -> None:
    """The leaderboard (tables.leaderboard_frame) with no sideways scroll at a 1500 px window:
    the headline cut-off's metrics in the table, the other cut-offs in an expander below."""
    main, others = tables.leaderboard_parts(board)
    config = {"model": st.column_config.TextColumn("Model")}
    st.dataframe(main, hide_index=True, column_config=config | _metric_config(main))
    if others:
        with st.expander(f"More metrics ({', '.join(title for title, _ in others)})"):
            for title, frame in others:
                st.caption(title.capitalize())
                st.dataframe(frame, hide_index=True, column_config=config | _metric_config(frame))


def what_if(sel: Selection, model: str, user: int, k: int) -> None:
    """Remove history items and show the re-ranked list at once."""
    ds = sel.dataset
    ctx = state.context(sel.key(model), sel.dataset_path)
    history = [int(i) for i in ctx.history(user)]
    removed = st.multiselect(
        "Remove these history items",
        history,
        format_func=ds.title,
        key=selection.context_key("whatif", sel.dataset.name, model, user),
    )
    if not removed:
        st.caption("Pick history items to see how the list would change without them.")
        return
    try:
        with st.spinner("Re-scoring with the edited history…"):
            st.dataframe(whatif.what_if(ctx, user, removed, k), hide_index=True)
    except NotSupported as err:
        st.info(f"{md(workspace.label(model))} cannot re-rank with an edited history: {md(err)}")
