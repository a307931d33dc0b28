"""Profile builder: cold start, both halves. A new user made of items (folded into a copy of the
model from those items alone), and a new item made of KG attributes (placed by the model's own
KG machinery), with who it would reach and why. The whole state travels in the share link."""

import numpy as np
import pandas as pd
import streamlit as st

from app import cold_views, links, sidebar, state, views, workspace
from app.components.heatmap import build_heatmap, show_heatmap
from app.components.tables import items_frame
from core.explain import launch, whatif
from core.explain.present import count_text
from core.models.base import can_rescore, supports
from core.safe_text import md

st.title("Profile builder")
sel = sidebar.selection()
if sel is None or sel.model is None:
    st.info("No trained model for this dataset yet: train one on the Train page.")
    st.stop()
ds, key, path = sel.dataset, sel.key(), sel.dataset_path
ctx, label = state.context(key, path), workspace.label(sel.model)
PROFILE = f"pb_profile-{ds.fingerprint()}"  # the profile belongs to one dataset
ATTRS = f"pb_attrs-{ds.fingerprint()}"
HALVES = {"user": "a new user", "item": "a new item"}
st.session_state.setdefault(PROFILE, [])
st.session_state.setdefault(ATTRS, [])
# the link's profile (raw item ids), title and attributes replace what the session had
if (raw := st.session_state.pop("link_profile", None)) is not None:
    ids = [ds.item_ids.get(r) for r in raw.split(",") if r]
    st.session_state[PROFILE] = [i for i in ids if i is not None]
    if None in ids:
        st.error(f"The link's profile names items not in {md(ds.name)}; they were left out.")
if (title := st.session_state.pop("link_title", None)) is not None:
    st.session_state["pb_title"] = title
if (attrs := st.session_state.pop("link_attr", None)) is not None:
    st.session_state[ATTRS] = [a for a in attrs.split(";") if a]
links.take_mapped("half", "pb_half", HALVES, "profile builder half")
links.take_int("k", "pb_k", 5, 20, "K")
st.session_state.setdefault("pb_k", 10)
half = st.radio("What is new", list(HALVES.values()), key="pb_half", horizontal=True)
k = st.slider("Top-K", 5, 20, key="pb_k")


def _edit(action: str) -> None:
    """Button callbacks run before the page, so the page always shows the edited lists."""
    prof, attrs = st.session_state[PROFILE], st.session_state[ATTRS]
    if action == "add" and st.session_state.get("pb_pick") is not None:
        st.session_state[PROFILE] = [*prof, int(st.session_state["pb_pick"])]
    elif action == "rm":
        doomed = set(st.session_state.get("pb_rm") or [])
        st.session_state[PROFILE] = [i for i in prof if i not in doomed]
        st.session_state["pb_rm"] = []
    elif action == "clear":
        st.session_state[PROFILE] = []
    elif action == "attr" and st.session_state.get("pb_ent") is not None:
        pair = f"{st.session_state['pb_rel']}={ctx.entity_names[st.session_state['pb_ent']]}"
        st.session_state[ATTRS] = list(dict.fromkeys([*attrs, pair]))
    elif action == "attr_rm":
        doomed = set(st.session_state.get("pb_attr_rm") or [])
        st.session_state[ATTRS] = [a for a in attrs if a not in doomed]
        st.session_state["pb_attr_rm"] = []


def new_user() -> None:
    """A profile of items, folded in as a new user: their list, and why."""
    if not can_rescore(ctx.model):
        st.info(f"{md(label)} cannot re-score a history, so it cannot take a new user.")
        return
    with st.expander("Start from a user's history (copied: the user is not borrowed)"):
        base = views.user_picker(ds, key="pb_user")
        if base is not None and st.button("Copy this user's history", key="pb_load"):
            st.session_state[PROFILE] = [int(i) for i in ctx.history(base)]
            st.rerun()
    profile: list[int] = st.session_state[PROFILE]
    st.subheader(f"Profile ({count_text(len(profile), 'item')})")
    query = st.text_input("Search titles to add", key="pb_query", placeholder="part of a title")
    hits = [i for i in whatif.search_titles(ctx, query) if i not in profile]
    if query and not hits:
        st.caption(f"No title contains '{md(query)}' (or every match is already in the profile).")
    if hits:
        add_col, btn_col = st.columns([4, 1])
        add_col.selectbox(
            "Matches", hits, key="pb_pick",
            format_func=lambda i: f"{ds.title(i)} ({ds.item_ids.to_raw(i)})",
        )  # fmt: skip
        btn_col.button("Add", icon=":material/add:", key="pb_add", on_click=_edit, args=("add",))
    if not profile:
        st.caption("The profile is empty: search a title above and add it.")
        return
    st.dataframe(
        views.history_frame(ds, profile), hide_index=True, height=min(300, 38 + 35 * len(profile))
    )
    st.multiselect("Remove from the profile", profile, format_func=ds.title, key="pb_rm")
    rm_col, clear_col = st.columns(2)
    rm_col.button("Remove", icon=":material/delete:", key="pb_rm_go", on_click=_edit, args=("rm",))
    clear_col.button("Clear the profile", key="pb_clear", on_click=_edit, args=("clear",))
    folded = state.folded(key, path, tuple(profile))
    items, scores = whatif.profile_top_k(folded, k)
    st.subheader(f"Top-{k} by {label} for this new user")
    if folded.same_for_everyone:
        st.info(f"{md(label)} gives everyone the same list: it does not read the profile.")
    st.dataframe(
        items_frame([ds.title(i) for i in items], [ds.item_ids.to_raw(i) for i in items], scores),
        hide_index=True,
    )
    if folded.same_for_everyone:
        return
    shown = items[: min(5, len(items))]
    influence = whatif.profile_influence(folded, shown)
    titles = [ds.title(i) for i in folded.folded.items]
    heading = "Score lost when one profile item is left out (recommended × profile)"
    fig = build_heatmap(influence, [ds.title(i) for i in shown], titles, title=heading)
    show_heatmap(st, fig, key="pb-heat")
    st.caption("Each cell re-scores the new user without that one profile item (the model's own "
               "re-fit): larger = that item pushes the recommendation up more.")  # fmt: skip
    pick = st.selectbox("Why this one?", list(items), key="pb_why", format_func=ds.title)
    cold_views.context_card(folded.ctx, folded.user, int(pick), k, key="pb-user-card")


def new_item() -> None:
    """A title and KG attributes, placed as a new item: who it would reach, and why."""
    if not supports(ctx.model, "triple_distance"):
        st.info(f"{md(label)} does not place items through the knowledge graph: pick KGAT, "
                "TransE or TransR in the sidebar.")  # fmt: skip
        return
    inputs = state.trained(key, path).inputs
    title = st.text_input("Title", key="pb_title", placeholder="the new item's title")
    rel_col, ent_col, btn_col = st.columns([2, 3, 1])
    rel = rel_col.selectbox("Relation", list(inputs.relation_names), key="pb_rel")
    ent_col.selectbox("Entity", launch.relation_entities(ctx, inputs, rel), key="pb_ent",
                      format_func=lambda e: ctx.entity_names[e])  # fmt: skip
    btn_col.button("Add", key="pb_attr_add", on_click=_edit, args=("attr",))
    attrs: list[str] = st.session_state[ATTRS]
    if attrs:
        st.markdown("**Attributes:** " + md("; ".join(attrs)))
        st.multiselect("Remove attributes", attrs, key="pb_attr_rm")
        st.button("Remove", key="pb_attr_go", on_click=_edit, args=("attr_rm",))
    if not title or not attrs:
        st.caption("Give the item a title and at least one attribute.")
        return
    try:
        lc = state.launched(key, path, title, tuple(attrs), k)
    except ValueError as err:
        st.error(md(err))
        return
    aud = lc.audience
    st.subheader(f"Who '{md(title)}' would reach")
    st.metric(f"Enters the top-{k} of", count_text(aud.count, "user"), f"{aud.share:.1%} of users")
    st.dataframe(pd.DataFrame(list(aud.quartiles)), hide_index=True)
    likely = aud.most_likely(20)
    names = [ctx.user_names[u] for u in likely]
    frame = pd.DataFrame(
        {"user": names, "score": np.round(aud.scores[likely], 4), "rank": aud.ranks[likely]}
    )
    st.dataframe(frame, hide_index=True, height=250)
    who = st.selectbox("Why would this user take it?", names, key="pb_aud")
    user = int(likely[names.index(who)])
    cold_views.context_card(lc.ctx, user, lc.item, k, key="pb-item-card")


if half == HALVES["user"]:
    new_user()
else:
    new_item()
half_name = next(h for h, v in HALVES.items() if v == half)
links.show(
    dataset=ds.name,
    model=sel.model,
    half=half_name,
    k=k,
    profile=[ds.item_ids.to_raw(i) for i in st.session_state[PROFILE]] or None,
    title=st.session_state.get("pb_title") or None,
    attr=";".join(st.session_state[ATTRS]) or None,
)
