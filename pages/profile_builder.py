"""Profile builder: make up a history (empty, or a user's own), add items by title, remove
them, and watch the model's list and the reasons for it change. For cold starts and demos."""

import numpy as np
import pandas as pd
import streamlit as st

from app import sidebar, state, views, workspace
from app.components.heatmap import build_heatmap, show_heatmap
from core.explain import whatif
from core.explain.present import count_text
from core.models.base import NotSupported, can_rescore
from core.safe_text import md

st.title("Profile builder")
sel = sidebar.selection()
if sel is None or sel.model is None:
    st.info("No trained model for this dataset yet: train one on the Train page.")
    st.stop()
ds, model = sel.dataset, sel.model
ctx = state.context(sel.key(), sel.dataset_path)
label = workspace.label(model)
if not can_rescore(ctx.model):
    st.info(f"{md(label)} cannot re-score an edited history; pick another model in the sidebar.")
    st.stop()

MAX_INFLUENCE = 25
PROFILE = f"pb_profile-{ds.fingerprint()}"  # the profile belongs to one dataset
st.session_state.setdefault(PROFILE, [])


def _edit(action: str) -> None:
    """Button callbacks run before the page, so the page always shows the edited profile."""
    prof = st.session_state[PROFILE]
    if action == "add" and st.session_state.get("pb_pick") is not None:
        st.session_state[PROFILE] = [*prof, int(st.session_state["pb_pick"])]
    elif action == "rm":
        doomed = set(st.session_state.get("pb_rm") or [])
        st.session_state[PROFILE] = [i for i in prof if i not in doomed]
        st.session_state["pb_rm"] = []
    elif action == "clear":
        st.session_state[PROFILE] = []


left, right = st.columns([2, 3])
start = left.radio("Start from", ["an empty profile", "a user's history"], key="pb_start")
if start == "a user's history":
    with right:
        base = views.user_picker(ds, key="pb_user")
    if base is not None and right.button("Load this user's history", key="pb_load"):
        st.session_state[PROFILE] = [int(i) for i in ctx.history(base)]
        st.rerun()  # redraw the profile from the top
else:
    base = 0
    right.caption(
        "Models with a learned vector per user (LightGCN, KGAT) score an empty start as the "
        f"first user ({ds.user_ids.to_raw(0)}) with this history in place of theirs; the "
        "attention model and BPR-MF's fold-in read the history alone."
    )
base = 0 if base is None else base
profile: list[int] = st.session_state[PROFILE]

st.subheader(f"Profile ({count_text(len(profile), 'item')})")
query = st.text_input("Search titles to add", key="pb_query", placeholder="part of a title")
hits = [i for i in whatif.search_titles(ctx, query) if i not in profile]
if query and not hits:
    st.caption(f"No title contains '{md(query)}' (or every match is already in the profile).")
if hits:
    add_col, btn_col = st.columns([4, 1])
    pick = add_col.selectbox(
        "Matches",
        hits,
        format_func=lambda i: f"{ds.title(i)} ({ds.item_ids.to_raw(i)})",
        key="pb_pick",
    )
    btn_col.button("Add", icon=":material/add:", key="pb_add", on_click=_edit, args=("add",))
if profile:
    st.dataframe(
        views.history_frame(ds, profile), hide_index=True, height=min(300, 38 + 35 * len(profile))
    )
    st.multiselect("Remove from the profile", profile, format_func=ds.title, key="pb_rm")
    rm_col, clear_col = st.columns(2)
    rm_col.button("Remove", icon=":material/delete:", key="pb_rm_go", on_click=_edit, args=("rm",))
    clear_col.button("Clear the profile", key="pb_clear", on_click=_edit, args=("clear",))
else:
    st.caption("The profile is empty: search a title above and add it.")
    st.stop()

k = st.slider("Top-K", 5, 20, 10, key="pb_k")
try:
    items, scores = whatif.profile_top_k(ctx, base, profile, k)
    matters = whatif.history_matters(ctx, base, profile)
except NotSupported as err:
    st.info(f"{md(label)} cannot re-score an edited history: {md(err)}")
    st.stop()
st.subheader(f"Top-{k} by {label} for this profile")
if not matters:
    st.info(f"{md(label)}'s list does not depend on the history: it is the same for everyone.")
st.dataframe(
    pd.DataFrame(
        {
            "#": range(1, len(items) + 1),
            "item": [ds.item_ids.to_raw(i) for i in items],
            "title": [ds.title(i) for i in items],
            "score": np.round(scores, 4),
        }
    ),
    hide_index=True,
)
if matters:
    shown = items[: min(5, len(items))]
    recent = profile[-MAX_INFLUENCE:]  # one re-scoring per column: keep it interactive
    influence = whatif.profile_influence(ctx, base, recent, shown)
    top = int(np.argmax(influence[0]))
    st.markdown("**Why:**")
    st.text(
        f"{ds.title(shown[0])} is first mostly because of {ds.title(recent[top])}: without it "
        f"its score falls by {influence[0, top]:.3f}."
    )
    fig = build_heatmap(
        influence,
        [ds.title(i) for i in shown],
        [ds.title(i) for i in recent],
        title="Score lost when one profile item is left out (recommended × profile)",
    )
    show_heatmap(st, fig, key="pb-heat")
    st.caption(
        "Each cell re-scores the profile without that one item (exact, the model's own "
        "scores): larger = that item pushes the recommendation up more; negative = it holds it "
        "back."
        + (
            f" Only the {MAX_INFLUENCE} most recently added items are shown."
            if len(profile) > MAX_INFLUENCE
            else ""
        )
    )
