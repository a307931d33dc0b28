"""Train: pick data, model and main hyper-parameters; watch progress; manage artifacts."""

import pandas as pd
import streamlit as st

from app import auth, importui, links, trainui, workspace
from core.models.registry import trainable_models

st.title("Train a model")
source = st.radio(
    "Dataset", ["sample", "folder path", "upload zip"], horizontal=True, key="tr_source"
)
data_path = trainui.dataset_source(source)

left, right = st.columns(2)
model = left.selectbox("Model", trainable_models(), format_func=workspace.label, key="tr_model")
epochs = right.number_input(
    "Epoch cap",
    1,
    trainui.MAX_EPOCHS,
    trainui.DEFAULT_EPOCHS,
    key="tr_epochs",
    help="Training stops early once validation stops improving (the best epoch is kept);"
    " this is the most it may run.",
)
overrides = trainui.hyperparameters(model)
admin = auth.require_admin("train, overwrite or delete models")  # open when none is configured
if st.button("Train", type="primary", disabled=data_path is None or not admin, key="tr_go"):
    trainui.train(data_path, model, overrides, int(epochs))
importui.section(admin)

st.subheader("Artifacts")
infos = workspace.artifacts()
if not infos:
    st.info("No artifacts yet.")
else:
    rows = [{**trainui.artifact_row(a), "origin": a.origin or "trained here"} for a in infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    doomed = st.selectbox(
        "Delete an artifact",
        [str(a.path) for a in infos],
        index=None,
        key="tr_del",
        format_func=trainui.shown_folder,
    )
    if doomed and st.button("Delete", disabled=not admin, key="tr_del_go"):
        trainui.delete(doomed)
links.show()
