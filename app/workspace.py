"""The workspace folder: where artifacts live, and the first-launch training of the default set.

Layout: `<workspace>/<dataset name>-<fingerprint>/<model>/` (one artifact folder per model and
dataset) and `<workspace>/feedback.sqlite`. The workspace is `$RECLENS_WORKSPACE` (default
`./workspace`); the default dataset is `$RECLENS_DATASET` (default the bundled sample).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app import state
from core.data import DataError, Dataset
from core.models.registry import MODELS
from core.safe_text import md
from core.store.artifacts import ArtifactInfo, list_artifacts
from core.store.feedback import feedback_url
from core.train import Callback, TrainConfig, train_model

DEFAULT_MODELS = ("mostpop", "bprmf", "lightgcn", "attention", "kgat")
LABELS = {
    "mostpop": "MostPop",
    "bprmf": "BPR-MF",
    "lightgcn": "LightGCN",
    "attention": "Attention",
    "kgat": "KGAT",
    "transe": "TransE",
    "transr": "TransR",
}
# First launch: (epochs, config overrides) sized so the default set trains in under a minute on 2
# cores (`benchmarks/ui_latency.py --first-launch`: 21 s on 2026-11-29): large batches, a higher
# learning rate, one KGAT layer with TransR on the KG's own triples. The Train page trains longer
# on demand.
FIRST_LAUNCH = {
    "mostpop": (1, {}),
    "bprmf": (25, {}),
    "lightgcn": (16, {}),
    "attention": (14, {"max_history": 30}),
    "kgat": (10, {"layer_dims": (64,), "kg_triples": "kg", "kg_batch_size": 8192}),
}
FIRST_LAUNCH_BATCH, FIRST_LAUNCH_LR = 4096, 5e-3


def workspace_dir() -> Path:
    return Path(os.environ.get("RECLENS_WORKSPACE", "workspace")).resolve()


def default_dataset() -> str:
    return os.environ.get("RECLENS_DATASET", "sample")


def feedback_database() -> str:
    """SQLAlchemy URL of the feedback DB: $RECLENS_FEEDBACK_URL or workspace/feedback.sqlite."""
    return os.environ.get("RECLENS_FEEDBACK_URL") or feedback_url(workspace_dir())


def label(model: str) -> str:
    return LABELS.get(model, model)


def artifact_folder(ds: Dataset, model: str) -> Path:
    return workspace_dir() / f"{ds.name}-{ds.fingerprint()[:8]}" / model


def artifacts() -> list[ArtifactInfo]:
    return [a for a in list_artifacts(workspace_dir()) if a.error is None]


def models_for(ds: Dataset) -> dict[str, Path]:
    """model name -> artifact folder for artifacts trained on `ds` (newest wins)."""
    found: dict[str, Path] = {}
    for a in artifacts():
        if a.fingerprint == ds.fingerprint() and a.model not in found:
            found[a.model] = a.path
    return dict(sorted(found.items(), key=lambda kv: _order(kv[0])))


# The sidebar's model order: models with the richest explanations first, so a fresh session opens
# on a model the explorer can explain.
PREFERRED = ("kgat", "attention", "lightgcn", "bprmf", "mostpop")


def _order(model: str) -> tuple[int, str]:
    return (PREFERRED.index(model) if model in PREFERRED else len(PREFERRED), model)


def dataset_paths() -> list[str]:
    """The default dataset first, then every other dataset path recorded by an artifact."""
    from core.store.artifacts import read_meta

    paths = [default_dataset()]
    for a in artifacts():
        path = (read_meta(a.path).get("dataset") or {}).get("path")
        if path and path not in paths and (path == "sample" or Path(path).is_dir()):
            paths.append(path)
    return paths


def first_launch_job(model: str) -> TrainJob:
    """The first-launch training of `model`; RECLENS_FAST_TRAIN=1 (tests) makes it one epoch."""
    epochs, overrides = FIRST_LAUNCH.get(model, (3, {}))
    if os.environ.get("RECLENS_FAST_TRAIN") == "1":
        epochs = 1
    config = TrainConfig(
        epochs=epochs,
        eval_every=epochs,
        patience=0,
        batch_size=FIRST_LAUNCH_BATCH,
        lr=FIRST_LAUNCH_LR,
    )
    return TrainJob(default_dataset(), model, dict(overrides), config)


class ProgressCallback(Callback):
    """Forwards the trainer's progress to `report(fraction, text, logs)`."""

    def __init__(self, report) -> None:
        self.report, self.n_epochs, self.n_batches, self.epoch = report, 1, 1, 0

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        self.n_epochs, self.n_batches = max(n_epochs, 1), max(n_batches, 1)

    def on_batch_end(self, batch: int, loss: float) -> None:
        done = (self.epoch + batch / self.n_batches) / self.n_epochs
        self.report(
            min(done, 1.0), f"epoch {self.epoch + 1}/{self.n_epochs} · loss {loss:.4f}", None
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        self.epoch = epoch
        self.report(
            epoch / self.n_epochs, f"epoch {epoch}/{self.n_epochs} done", {"epoch": epoch, **logs}
        )
        return None


@dataclass(frozen=True)
class TrainJob:
    dataset_path: str
    model: str
    overrides: dict
    config: TrainConfig


def run_job(job: TrainJob, report) -> Path:
    """Train and save one artifact; `report(fraction, text, logs)` sees the progress."""
    ds = state.dataset(job.dataset_path)
    trained = train_model(
        ds,
        job.model,
        overrides=job.overrides,
        train_config=job.config,
        out_dir=artifact_folder(ds, job.model),
        callbacks=[ProgressCallback(report)],
        dataset_source={"path": job.dataset_path},
    )
    state.forget_models()
    return trained.path


def ensure_default_models() -> bool:
    """First launch (no model trained on the default dataset yet): train the default set with a
    progress bar.

    Returns False (after showing an error) when the default dataset cannot be loaded.
    """
    try:
        ds = state.dataset(default_dataset())
    except DataError as err:
        st.error(f"Cannot load the default dataset: {md(err)}")
        return False
    if models_for(ds) or st.session_state.get("_first_launch_done"):
        return True  # not a first launch: a model deleted on purpose is not retrained
    with state.train_lock():  # a second session waits here, then finds the models trained
        if not models_for(ds):
            _train_default_set()
    st.session_state["_first_launch_done"] = True
    return True


def _train_default_set() -> None:
    missing = [m for m in DEFAULT_MODELS if m in MODELS]
    st.info("First launch: training the default models on the sample data (under a minute).")
    bar, start = st.progress(0.0, text="starting"), time.perf_counter()
    for n, model in enumerate(missing):

        def report(frac, text, _logs, n=n, model=model):
            bar.progress(
                (n + frac) / len(missing), text=f"{label(model)} ({n + 1}/{len(missing)}): {text}"
            )

        run_job(first_launch_job(model), report)
    bar.progress(1.0, text=f"trained {len(missing)} models in {time.perf_counter() - start:.0f} s")
