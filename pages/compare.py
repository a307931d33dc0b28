"""Compare models: metrics, per-activity segments, list overlap, and one user side by side."""

import itertools

import pandas as pd
import streamlit as st

from app import links, services, sidebar, state, views, workspace
from app.components import charts, tables
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
st.dataframe(board, hide_index=True)
numeric = [c for c in board.columns if c != "model"]
acc = [c for c in numeric if c.split("@")[0] in ("recall", "ndcg", "precision", "hit")]
# bars share one axis: popularity (~100) and novelty (bits) would flatten the 0-1 metrics
beyond = [c for c in numeric if c not in acc and board[c].max() <= 1.0]
left, right = st.columns(2)
if acc:
    left.plotly_chart(charts.build_metric_bars(board, acc[:6]), key="cmp-acc")
if beyond:
    right.plotly_chart(charts.build_metric_bars(board, beyond[:6]), key="cmp-beyond")

st.subheader("Per user-activity quartile")
quart = services.quartile_frame(
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

st.subheader("Explanation fidelity per model")
st.caption(
    "Deletion test on 3 sampled users' top-3: ratio@3 = rank drop when the 3 history items "
    "an explanation ranks highest are removed, over the drop for 3 random ones (> 1 is "
    "better than chance)."
)
if st.toggle("Measure fidelity (a few seconds per model)", key="cmp_fid"):
    frames = [
        state.fidelity_table(sel.key(m), sel.dataset_path).assign(model=workspace.label(m))
        for m in chosen
    ]
    fid = pd.concat(frames, ignore_index=True)
    st.dataframe(fid[["model"] + [c for c in fid.columns if c != "model"]], hide_index=True)

st.subheader("One user, side by side")
user = views.user_picker(ds, key="cmp_user")
if user is not None:
    for col, model in zip(st.columns(len(chosen)), chosen, strict=True):
        with col:
            st.markdown(f"**{md(workspace.label(model))}**")
            items, scores = state.top_k(sel.key(model), sel.dataset_path, user, k)
            st.dataframe(
                tables.items_frame(
                    [ds.title(i) for i in items], [ds.item_ids.to_raw(i) for i in items], scores
                ),
                hide_index=True,
            )
            methods = state.methods(sel.key(model), sel.dataset_path)
            if methods and len(items):
                views.explanation_block(
                    sel, model, user, int(items[0]), methods[0], k, key=f"cmp-{model}"
                )
            else:
                st.caption("No explanation method for this model.")
links.show(
    dataset=sel.dataset.name,
    user=ds.user_ids.to_raw(user) if user is not None else None,
    k=k,
    models=chosen,
)
