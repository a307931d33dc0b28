"""User explorer: one user's history, top-K recommendations, and why each was recommended."""

import streamlit as st

from app import links, selection, sidebar, state, views, workspace
from app.components import tables
from core.safe_text import md

st.title("User explorer")
sel = sidebar.selection()
if sel is None or sel.model is None:
    st.info("No trained model for this dataset yet: train one on the Train page.")
    st.stop()
ds, key = sel.dataset, sel.key()
user = views.user_picker(ds)
if user is None:
    st.stop()
links.take_int("k", "ue_k", 5, 20, "K")
st.session_state.setdefault("ue_k", 10)
k = st.slider("Top-K", 5, 20, key="ue_k")
ctx = state.context(key, sel.dataset_path)
for note in state.trained(key, sel.dataset_path).warnings:  # e.g. an artifact without digests
    st.warning(md(note))

history, right = st.columns(2)
history.subheader(f"History of {md(ds.user_ids.to_raw(user))} ({len(ctx.history(user))} items)")
history.dataframe(views.history_frame(ds, ctx.history(user)), hide_index=True, height=300)
items, scores = state.top_k(key, sel.dataset_path, user, k)
right.subheader(f"Top-{k} by {workspace.label(sel.model)}")
right.dataframe(
    tables.items_frame(
        [ds.title(i) for i in items], [ds.item_ids.to_raw(i) for i in items], scores
    ),
    hide_index=True,
    height=300,
)

st.subheader("Why these recommendations?")
raw_items = [ds.item_ids.to_raw(i) for i in items]
methods = state.methods(key, sel.dataset_path)
# widget keys bound to their context: a new model, user or K re-derives the choice (app/selection)
item_key = selection.bind("ue_item", raw_items, (key, user, k), "item", "recommended item")
method_key = selection.bind("ue_method", methods, (key,), "method", "explanation method")
left, mid = st.columns([3, 1])
raw_item = left.selectbox(
    "Recommendation",
    raw_items,
    key=item_key,
    format_func=lambda r: f"#{raw_items.index(r) + 1} {ds.title(ds.item_ids.to_internal(r))}",
)
method = mid.radio("Explain by", methods, key=method_key, horizontal=True) if methods else None
selection.remember("ue_item", raw_item)
selection.remember("ue_method", method)
item = ds.item_ids.to_internal(raw_item)
if method is None:
    st.info(f"{md(workspace.label(sel.model))} offers no explanation method.")
else:
    views.explanation_block(
        sel,
        sel.model,
        user,
        item,
        method,
        k,
        key="ue-card",
        heat=views.heatmap(sel, sel.model, user, items),
    )
    st.download_button(
        "Export HTML report",
        views.report_builder(sel, sel.model, user, method, k),
        file_name=f"reclens-{ds.user_ids.to_raw(user)}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
    )

with st.expander("What if… (remove history items and re-rank)"):
    views.what_if(sel, sel.model, user, k)
links.show(
    dataset=sel.dataset.name,
    model=sel.model,
    user=ds.user_ids.to_raw(user),
    item=raw_item,
    method=method,
    k=k,
)
