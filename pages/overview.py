"""Overview: the dataset at a glance and the leaderboard of trained models."""

import numpy as np
import streamlit as st

from app import links, sidebar, views, workspace
from app.components import charts, tables
from core.safe_text import md

st.title("Overview")
sel = sidebar.selection()
if sel is None:
    st.stop()
ds = sel.dataset
stats = ds.stats()
st.subheader(f"Dataset: {md(stats['name'])}")
COUNTS = ("users", "items", "interactions", "entities", "relations", "triples")
cols = st.columns(len(COUNTS) + 1)
for col, name in zip(cols, COUNTS, strict=False):  # the last column shows sparsity
    col.metric(name.capitalize(), f"{stats[name]:,}")
cols[-1].metric("Sparsity", f"{stats['sparsity']:.2%}")

left, right = st.columns(2)
left.plotly_chart(
    charts.build_activity_hist(np.bincount(ds.interactions["user"], minlength=ds.n_users))
)
right.plotly_chart(
    charts.build_popularity(np.bincount(ds.interactions["item"], minlength=ds.n_items))
)

st.subheader("Leaderboard (test split)")
shown = set(sel.models.values())  # the newest artifact of each model, as the sidebar offers
board = tables.leaderboard_frame(
    {
        f"{a.origin} (its own split)" if a.origin else workspace.label(a.model): a.metrics
        for a in workspace.artifacts()
        if a.path in shown
    }
)
if board.empty:
    st.info("No trained models for this dataset yet: train one on the Train page.")
else:
    st.caption(
        "Best NDCG@20 first. Recall@20: share of a user's test items found in the top 20. "
        "Hover a column's header for what it measures."
    )
    views.leaderboard(board)
    accuracy = [c for c in board.columns if c.split("@")[0] in ("recall", "ndcg")]
    # the bars in reading order: the largest cut-off first, recall before NDCG at each
    accuracy.sort(key=lambda c: (-int(c.split("@")[1]), c.split("@")[0] != "recall"))
    if accuracy:
        st.plotly_chart(charts.build_metric_bars(board, accuracy[:6]))
links.show(dataset=sel.dataset.name)
