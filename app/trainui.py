"""Pieces of the Train page: dataset source, hyper-parameter inputs, the training run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st

from app import auth, data_roots, state, uploads, workspace
from core.data import DataError
from core.models.registry import MODELS, UnknownModelError
from core.safe_text import md
from core.store.artifacts import (
    ArtifactError,
    ArtifactInfo,
    artifact_lock,
    delete_artifact,
    read_meta,
)
from core.train import TrainConfig, TrainingDiverged

MAIN_FIELDS = 6  # how many numeric config fields to offer
# The page trains at the library's defaults (`TrainConfig()`: validation early stopping, the best
# epoch's weights kept); the user sets only the epoch cap, which they may raise up to MAX_EPOCHS.
DEFAULT_EPOCHS = TrainConfig().epochs
MAX_EPOCHS = 2000


def dataset_source(source: str) -> str | None:
    """The dataset path to train on, validated; None (after an error message) when unusable."""
    if source == "sample":
        return workspace.default_dataset()
    if source == "folder path":
        path = st.text_input("Dataset folder", key="tr_folder").strip()
        if not path:
            return None
        try:
            roots = data_roots.data_roots(workspace.workspace_dir(), workspace.default_dataset())
            data_roots.check_folder(path, roots)  # a team server loads only allowed folders
            state.dataset(path)
        except DataError as err:
            st.error(f"Cannot use this folder: {md(err)}")
            return None
        return path
    if not auth.is_admin():  # an upload writes to the server's disk: admins only
        st.info("Uploading a dataset needs an administrator of this server.")
        return None
    upload = st.file_uploader(
        "Dataset zip (CSV format: interactions.csv, items.csv, kg.csv…)",
        type=["zip"],
        key="tr_upload",
    )
    if upload is None:
        return None
    try:
        folder, ds = uploads.extract_dataset_zip(
            upload.getvalue(), upload.name, workspace.workspace_dir() / "uploads"
        )
    except DataError as err:
        st.error(f"Bad upload: {md(err)}")
        return None
    st.success(
        f"Loaded {md(ds.name)}: {ds.n_users} users, {ds.n_items} items, {len(ds.kg)} triples."
    )
    return str(folder)


def hyperparameters(model: str) -> dict:
    """Number inputs for the model's first numeric config fields; returns the overrides."""
    fields = [
        f for f in dataclasses.fields(MODELS[model].config_cls) if type(f.default) in (int, float)
    ][:MAIN_FIELDS]
    overrides = {}
    cols = st.columns(3)
    for n, f in enumerate(fields):
        step = 1 if isinstance(f.default, int) else None
        value = cols[n % 3].number_input(
            f.name,
            value=f.default,
            step=step,
            format=None if step else "%g",
            key=f"tr_{model}_{f.name}",
        )
        if value != f.default:
            overrides[f.name] = type(f.default)(value)
    return overrides


def train_config(epochs: int) -> TrainConfig:
    """The library's default training (`python -m core train`'s): early stopping on validation,
    the best epoch kept, at most `epochs` epochs."""
    return dataclasses.replace(TrainConfig(), epochs=epochs)


def train(data_path: str, model: str, overrides: dict, epochs: int) -> None:
    """Run training (at most `epochs` epochs, stopping early on validation) with a progress bar
    and a live loss chart; errors become messages."""
    if not auth.is_admin():  # the page disables the button; this keeps the rule server-side
        st.error("Training needs an administrator of this server.")
        return
    bar = st.progress(0.0, text="starting")
    chart = st.empty()
    history: list[dict] = []

    def report(frac: float, text: str, logs: dict | None) -> None:
        bar.progress(frac, text=text)
        if logs is not None:
            history.append(
                {
                    k: v
                    for k, v in logs.items()
                    if k == "epoch" or k == "loss" or k.startswith("val_")
                }
            )
            chart.line_chart(pd.DataFrame(history).set_index("epoch"))

    job = workspace.TrainJob(data_path, model, overrides, train_config(epochs))
    try:
        # the CLI's lock: a training from another session or a terminal is refused, not raced
        with artifact_lock(workspace.artifact_folder(state.dataset(data_path), model)):
            path = workspace.run_job(job, report)
    except (ArtifactError, DataError, UnknownModelError, TrainingDiverged, ValueError) as err:
        st.error(f"Training failed: {md(err)}")
        return
    bar.progress(1.0, text="done")
    st.success(
        f"Saved {workspace.label(model)} to {md(path)}; it is now available on the other pages."
    )
    st.caption(outcome(read_meta(path), epochs))


def outcome(meta: dict, cap: int) -> str:
    """How the run ended: stopped early on validation, or cut by the epoch cap (not converged)."""
    run, best = meta.get("epochs", 0), meta.get("best_epoch", 0)
    score = f"{meta.get('monitor', 'validation')} {meta.get('best_valid', float('nan')):.4f}"
    if run < cap:
        return f"Stopped early after {run} epochs; kept epoch {best} ({score})."
    return (
        f"Reached the epoch cap ({cap}) before validation stopped improving, so it may not have"
        f" converged; kept epoch {best} ({score}). Raise the cap to train longer."
    )


def shown_folder(folder: str | Path) -> str:
    """An artifact folder as the page shows it: relative to the workspace (the absolute path
    was cut off in its table column), absolute when it lies elsewhere."""
    try:
        return str(Path(folder).relative_to(workspace.workspace_dir()))
    except ValueError:
        return str(folder)


def artifact_row(a: ArtifactInfo) -> dict:
    row = {
        "model": workspace.label(a.model),
        "dataset": a.dataset,
        "created": a.created,
        "folder": shown_folder(a.path),
    }
    # the leaderboard's order: Recall@20 and NDCG@20 first
    row.update({k: round(a.metrics[k], 4) for k in SHOWN_METRICS if k in a.metrics})
    return row


SHOWN_METRICS = ("recall@20", "ndcg@20", "coverage@20")


def delete(folder: str) -> None:
    if not auth.is_admin():
        st.error("Deleting an artifact needs an administrator of this server.")
        return
    try:
        with artifact_lock(folder):
            delete_artifact(Path(folder))
    except ArtifactError as err:
        st.error(md(err))
        return
    state.forget_models()
    st.success(f"Deleted {md(folder)}.")
    st.rerun()
