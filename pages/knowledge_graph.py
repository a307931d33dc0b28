"""Knowledge graph explorer: an item's or entity's neighbourhood, and relation statistics."""

import streamlit as st

from app import links, sidebar, state
from app.components.kg_graph import build_kg_html, show_kg
from core.explain.present import count_text
from core.graph import resolve_entity
from core.safe_text import md

st.title("Knowledge graph")
sel = sidebar.selection()
if sel is None:
    st.stop()
ds = sel.dataset
links.take("item", "kg_query", list(ds.entity_ids.raw), "entity")
st.session_state.setdefault("kg_query", ds.item_ids.to_raw(0))
query = st.text_input("Search an item or entity (raw id or part of a name)", key="kg_query")
center = resolve_entity(ds, query)
left, mid, right = st.columns([1, 1, 2])
hops = left.slider("Hop limit", 1, 3, 1, key="kg_hops")
max_nodes = mid.slider("Nodes shown", 10, 80, 25, step=5, key="kg_nodes")
relations = right.multiselect("Relations (none = all)", list(ds.relation_names), key="kg_rel")
if center is None:
    st.error(f"No item or entity matches '{md(query)}'.")
else:
    sub = state.neighbourhood(sel.dataset_path, center, hops, tuple(relations), max_nodes)
    st.text(
        f"{ds.entity_names[center]} ({ds.entity_ids.to_raw(center)}): "
        f"{count_text(len(sub.nodes), 'node')} and {count_text(len(sub.edges), 'edge')} within "
        f"{count_text(hops, 'hop')} (at most {max_nodes} nodes, nearest first)"
    )
    show_kg(st, build_kg_html(sub, max_nodes=max_nodes))
st.subheader("Relations")
st.dataframe(state.relation_stats(sel.dataset_path), hide_index=True)
links.show(
    dataset=sel.dataset.name, item=ds.entity_ids.to_raw(center) if center is not None else None
)
