"""Population: what drives each model's recommendations across all users (shapes, relations,
driver entities and history items, bubbles, how personal, cohorts, path metrics), two models
side by side, from their explain-all exports; every aggregate drills down to example users and
opens them in the User explorer."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app import links, population, sidebar, state, workspace
from app.components.population import build_bubbles, build_grouped
from core.safe_text import md

st.title("Population")
st.caption(
    "What each model leans on across all users, from its export of every user's top-10 with "
    "explanations (`python -m core explain-all`, or the button below). Bubble: the share of a "
    "user's top-10 whose top explanation shares one driver (a KG entity, else the history "
    "item) or one relation. Not personal: removing the 3 history items the explanation weighs "
    "most lowers the item no more than removing 3 random ones, so its card gives no personal "
    "reason (measured on a random sample of users)."
)
sel = sidebar.selection()
if sel is None or not sel.models:
    st.info("No trained model for this dataset yet: train one on the Train page.")
    st.stop()
names = list(sel.models)
links.take_list("models", "pop_models", names, "models")
st.session_state.setdefault("pop_models", names[:2])
st.session_state["pop_models"] = st.session_state["pop_models"][:2]  # a link may name more
chosen = st.multiselect(
    "Models (one or two)", names, key="pop_models", max_selections=2, format_func=workspace.label
)
if not chosen:
    st.warning("Pick a model.")
    st.stop()

folders = {}
for col, model in zip(st.columns(len(chosen)), chosen, strict=True):
    with col:
        st.subheader(workspace.label(model))
        folder = population.export_panel(sel, model)
        if folder is not None:
            folders[model] = folder
figs = {
    workspace.label(m): state.population(str(f), population.stamp(f)) for m, f in folders.items()
}
if figs:
    st.subheader("Headline figures")
    st.dataframe(population.headline(figs), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(
        build_grouped({m: f["shapes"] for m, f in figs.items()}, "value", "share",
                      "Explanation shape of the top path", pct=True), key="pop-shapes",
    )  # fmt: skip
    right.plotly_chart(
        build_grouped({m: f["relations"] for m, f in figs.items()}, "value", "share",
                      "Relation the top path goes through", pct=True), key="pop-relations",
    )  # fmt: skip
    k = max(f["k"] for f in figs.values())
    left.plotly_chart(
        build_bubbles({m: f["bubble"]["entity"] for m, f in figs.items()}, k, "Bubble: one driver"),
        key="pop-bubble-driver",
    )
    right.plotly_chart(
        build_bubbles({m: f["bubble"]["relation"] for m, f in figs.items()}, k,
                      "Bubble: one relation"), key="pop-bubble-relation",
    )  # fmt: skip
    for col, (label, f) in zip(st.columns(len(figs)), figs.items(), strict=True):
        col.markdown(f"**{md(label)}**: top driver entities and history items")
        if f["driver_entities"]:
            col.dataframe(pd.DataFrame(f["driver_entities"]), hide_index=True)
        else:
            col.caption("No KG entity drives these explanations (no KG paths).")
        col.dataframe(pd.DataFrame(f["driver_items"]), hide_index=True)
        col.caption("By user-activity quartile (1 = least active)")
        col.dataframe(pd.DataFrame(f["by_activity"]), hide_index=True)
        col.caption("By recommended-item popularity quartile (1 = least popular)")
        col.dataframe(pd.DataFrame(f["by_popularity"]), hide_index=True)

    st.subheader("Drill down")
    options = population.drill_options(figs, {workspace.label(m): m for m in folders})
    pick = st.selectbox(
        "Example users behind", options, format_func=lambda o: o[0], key="pop_drill"
    )
    model = pick[1]
    rows = state.population_examples(
        str(folders[model]), population.stamp(folders[model]), pick[2], pick[3]
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for n, row in enumerate(rows):
        params = dict(model=model, user=row["user"], item=row["item"], k=10)
        if st.button(
            f"Open user {md(row['user'])}, recommendation #{row['rank']}, in the User explorer",
            key=f"pop-open-{n}",
        ):
            links.goto("user_explorer", dataset=sel.dataset.name, **params)
        st.text("?" + urlencode({"page": "user_explorer", "dataset": sel.dataset.name, **params}))
links.show(dataset=sel.dataset.name, models=chosen)
