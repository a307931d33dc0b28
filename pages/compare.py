"""Compare models: accuracy, explanation quality, per-activity segments, list overlap, and one
user's lists and explanations across models."""

import itertools

import pandas as pd
import streamlit as st

from app import links, population, sidebar, state, views, workspace
from app.components import charts, tables
from core.eval.tables import quartile_frame
from core.safe_text import md

st.title("Compare models")
sel = sidebar.selection()
if sel is None or len(sel.models) < 2:
    st.info("Train at least two models on this dataset to compare them.")
    st.stop()
ds = sel.dataset
links.take_list("models", "cmp_models", list(sel.models), "models")  # also drops stale ones
links.take_int("k", "cmp_k", 5, 20, "K")
st.session_state.setdefault("cmp_models", list(sel.models)[:3])
chosen = st.multiselect(
    "Models",
    list(sel.models),
    format_func=workspace.label,
    key="cmp_models",
)
if len(chosen) < 2:
    st.warning("Pick at least two models.")
    st.stop()
st.session_state.setdefault("cmp_k", 10)
k = st.slider("K", 5, 20, key="cmp_k")

st.subheader("Accuracy and beyond-accuracy (test split)")
trained = {m: state.trained(sel.key(m), sel.dataset_path) for m in chosen}
test_metrics = {workspace.label(m): tm.metrics.get("test", {}) for m, tm in trained.items()}
board = tables.leaderboard_frame(test_metrics)
st.caption("Best NDCG@20 first. Hover a column's header for what it measures.")
views.leaderboard(board)
numeric = [c for c in board.columns if c != "model"]
acc = [c for c in numeric if c.split("@")[0] in ("recall", "ndcg", "precision", "hit")]
# bars share one axis: popularity (~100) and novelty (bits) would flatten the 0-1 metrics
beyond = [c for c in numeric if c not in acc and board[c].max() <= 1.0]
if acc:
    st.plotly_chart(charts.build_metric_bars(board, acc[:6]), key="cmp-acc")
if beyond:
    st.plotly_chart(charts.build_metric_bars(board, beyond[:6]), key="cmp-beyond")

st.subheader("Accuracy vs explanation quality")
st.caption(
    "One point per model, from its population export (Population page): deletion ratio@3 is "
    "how much further an item drops when the 3 history items its explanation ranks highest are "
    "removed than when 3 random ones are (1 = no better than chance), over the export's "
    "fidelity sample; bubble is the mean share of a top-10 whose top explanation shares one "
    "driver. Models without a current export are listed below the charts."
)
points, missing = population.tradeoff_points(sel, chosen, trained)
if points.empty:
    st.info("No current population export for these models: export them on the Population page.")
else:
    left, right = st.columns(2)
    left.plotly_chart(charts.build_quality_scatter(points, "deletion ratio@3"), key="cmp-q1")
    right.plotly_chart(charts.build_quality_scatter(points, "bubble: one driver"), key="cmp-q2")
    st.dataframe(points, hide_index=True)
for label, why in missing:
    st.caption(f"{md(label)}: {md(why)}")

st.subheader("Per user-activity quartile")
quart = quartile_frame(
    {workspace.label(m): tm.metrics.get("per_quartile", []) for m, tm in trained.items()}
)
if quart.empty:
    st.caption("No per-quartile metrics in these artifacts.")
else:
    st.dataframe(quart, hide_index=True)

st.subheader(f"Overlap of top-{k} lists (average Jaccard@{k}, first 200 users)")
pairs = [
    {
        "model A": workspace.label(a),
        "model B": workspace.label(b),
        f"jaccard@{k}": round(state.overlap(sel.key(a), sel.key(b), sel.dataset_path, k), 4),
    }
    for a, b in itertools.combinations(chosen, 2)
]
st.dataframe(pd.DataFrame(pairs), hide_index=True)

st.subheader("One user across models")
user = views.user_picker(ds, key="cmp_user")
if user is not None:
    lists = {}
    for model in chosen:
        items, _ = state.top_k(sel.key(model), sel.dataset_path, user, k)
        lists[workspace.label(model)] = [ds.title(i) for i in items] + [""] * (k - len(items))
    st.dataframe(pd.DataFrame({"#": range(1, k + 1), **lists}), hide_index=True, width="stretch")
    model = st.radio(
        "Why does this model rank its first item first?",
        chosen,
        format_func=workspace.label,
        horizontal=True,
        key="cmp_explain",
    )
    items, _ = state.top_k(sel.key(model), sel.dataset_path, user, k)
    methods = state.methods(sel.key(model), sel.dataset_path)
    if methods and len(items):
        st.text(f"#1 {ds.title(items[0])} ({ds.item_ids.to_raw(items[0])}), by {methods[0]}")
        views.explanation_block(sel, model, user, int(items[0]), methods[0], k, key=f"cmp-{model}")
    else:
        st.caption(f"{md(workspace.label(model))} offers no explanation method.")
links.show(
    dataset=sel.dataset.name,
    user=ds.user_ids.to_raw(user) if user is not None else None,
    k=k,
    models=chosen,
)
