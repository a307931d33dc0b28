"""The shared sidebar: dataset and model pickers every page reads through `selection()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app import links, llm_settings, state, workspace
from core.data import DataError, Dataset
from core.safe_text import md
from core.store.artifacts import read_meta


@dataclass(frozen=True)
class Selection:
    dataset_path: str
    dataset: Dataset
    models: dict[str, Path]  # model name -> artifact folder, for this dataset
    model: str | None

    def key(self, model: str | None = None) -> str:
        """Cache key of a model's artifact (see state.artifact_key)."""
        return state.artifact_key(self.models[model or self.model])


def _dataset_label(path: str) -> str:
    return "sample (bundled)" if path == "sample" else path


def _names(paths: list[str]) -> dict[str, str]:
    """Dataset name -> path for the offered paths: links carry names, never server paths."""

    names: dict[str, str] = {}
    try:
        names[state.dataset(paths[0]).name] = paths[0]
    except DataError:
        pass  # reported when the dataset is loaded below
    for a in workspace.artifacts():
        path = (read_meta(a.path).get("dataset") or {}).get("path")
        if path in paths and path != paths[0]:
            names.setdefault(a.dataset, path)
    return names


def render() -> None:
    """Draw the pickers; errors (bad link, unloadable dataset) show in the page."""
    paths = workspace.dataset_paths()
    links.take_mapped("dataset", "dataset", _names(paths), "dataset")
    st.sidebar.selectbox("Dataset", paths, key="dataset", format_func=_dataset_label)
    try:
        ds = state.dataset(st.session_state["dataset"])
    except DataError as err:
        st.error(f"Cannot load dataset: {md(err)}")
        st.session_state["_selection"] = None
        return
    models = workspace.models_for(ds)
    links.take("model", "model", list(models), f"model trained on '{ds.name}' named")
    if st.session_state.get("model") not in models:
        st.session_state.pop("model", None)
    model = st.sidebar.selectbox("Model", list(models), key="model", format_func=workspace.label)
    st.sidebar.caption(f"Workspace: {md(workspace.workspace_dir())}")
    st.session_state["_selection"] = Selection(st.session_state["dataset"], ds, models, model)
    llm_settings.render()


def selection() -> Selection | None:
    """The sidebar's current choice, or None (after an error was shown) when nothing is usable."""
    return st.session_state.get("_selection")
