"""Composite Streamlit views shared by pages: user picker, explanation block, report export."""

from __future__ import annotations

import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import links, llm_settings, selection, services, state, workspace
from app.components import tables
from app.components.explanation_card import counterfactual_text, show_explanation_card
from app.components.heatmap import build_heatmap
from app.components.report import ReportSection, build_report_html
from app.sidebar import Selection
from core.data import Dataset
from core.models.base import NotSupported
from core.safe_text import md
from core.store.feedback import add_feedback

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
    if found is None:
        return None
    weights, history, kind = found
    ds = sel.dataset
    return build_heatmap(
        weights,
        [ds.title(i) for i in items],
        [ds.title(h) for h in history],
        title=f"Recommended items × history ({kind})",
    )


def _save_vote(
    sel: Selection, model: str, method: str, expl, vote: int, comment: str, narration=None
) -> None:
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


def explanation_block(
    sel: Selection,
    model: str,
    user: int,
    item: int,
    method: str,
    k: int,
    key: str,
    heat=None,
    with_fidelity: bool = True,
) -> None:
    """The explanation card of one recommendation, with feedback buttons."""
    # bound to what it explains: a comment typed for one user and item never reaches another's
    key = selection.context_key(key, sel.dataset.name, model, user, item, method)
    if method == "counterfactual" and not st.toggle(
        "Search a counterfactual (re-scores the model many times: seconds)", key=f"{key}-cf"
    ):
        return
    try:
        expl = state.explanation(sel.key(model), sel.dataset_path, user, item, method, k)
    except NotSupported as err:
        st.warning(f"{md(workspace.label(model))} cannot explain by {md(method)}: {md(err)}")
        return
    graph = state.graph_html(sel.key(model), sel.dataset_path, user, item, method, k)
    # The deletion test re-scores the user a dozen times (~1 s for KGAT on 2 cores), so it runs
    # on request, keeping a user switch under a second.
    fid = None
    if with_fidelity and st.toggle("Measure fidelity (deletion test)", key=f"{key}-fid"):
        fid = state.fidelity(sel.key(model), sel.dataset_path, user, item, method, k)
    narr = llm_settings.narration(sel, model, user, item, method, k)
    show_explanation_card(
        expl,
        sel.dataset.title(item),
        key=key,
        heatmap=heat,
        graph_html=graph,
        fidelity=fid,
        narration=narr,
        on_feedback=lambda vote, comment: _save_vote(sel, model, method, expl, vote, comment, narr),
    )


def report_builder(sel: Selection, model: str, user: int, method: str, k: int):
    """A callable producing the HTML report of the user's top-k explanations (run on click)."""

    def build() -> str:
        ds, key = sel.dataset, sel.key(model)
        items, _ = state.top_k(key, sel.dataset_path, user, k)
        sections = []
        for n, item in enumerate(items):
            expl = state.explanation(key, sel.dataset_path, user, int(item), method, k)
            sections.append(
                ReportSection(
                    expl,
                    ds.title(item),
                    counterfactual_text(expl),
                    tables.paths_frame(expl),
                    heatmap(sel, model, user, items) if n == 0 else None,
                    state.graph_html(key, sel.dataset_path, user, int(item), method, k),
                )
            )
        ctx = state.context(key, sel.dataset_path)
        facts = {
            "dataset": ds.name,
            "model": workspace.label(model),
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

    return build


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
            st.dataframe(services.what_if(ctx, user, removed, k), hide_index=True)
    except NotSupported as err:
        st.info(f"{md(workspace.label(model))} cannot re-rank with an edited history: {md(err)}")
