"""Knowledge graph explorer: an item's or entity's neighbourhood, and relation statistics."""

import streamlit as st

from app import links, services, sidebar, state
from app.components.kg_graph import build_kg_html, show_kg
from core.safe_text import md

st.title("Knowledge graph")
sel = sidebar.selection()
if sel is None:
    st.stop()
ds = sel.dataset
links.take("item", "kg_query", list(ds.entity_ids.raw), "entity")
st.session_state.setdefault("kg_query", ds.item_ids.to_raw(0))
query = st.text_input("Search an item or entity (raw id or part of a name)", key="kg_query")
center = services.resolve_entity(ds, query)
left, right = st.columns(2)
hops = left.slider("Hop limit", 1, 3, 1, key="kg_hops")
relations = right.multiselect("Relations (none = all)", list(ds.relation_names), key="kg_rel")
if center is None:
    st.error(f"No item or entity matches '{md(query)}'.")
else:
    sub = state.neighbourhood(sel.dataset_path, center, hops, tuple(relations), 60)
    st.caption(
        f"{md(ds.entity_names[center])} ({md(ds.entity_ids.to_raw(center))}): "
        f"{len(sub.nodes)} nodes, {len(sub.edges)} edges within {hops} hop(s), at most 60 nodes"
    )
    show_kg(st, build_kg_html(sub), height=560)
st.subheader("Relations")
st.dataframe(state.relation_stats(sel.dataset_path), hide_index=True)
links.show(
    dataset=sel.dataset.name, item=ds.entity_ids.to_raw(center) if center is not None else None
)
