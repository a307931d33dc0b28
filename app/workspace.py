"""The dashboard's side of the workspace: environment settings, and the first launch run in a
background thread so that navigating, reloading or a second session never interrupts it.

The layout, the default model set and its presets live in `core.store.workspace` (shared with
the CLI). The workspace is `$RECLENS_WORKSPACE` (default `./workspace`); the default dataset is
`$RECLENS_DATASET` (default the bundled sample, whose default models are bundled artifacts).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from app import auth, data_roots, state
from core.data import DataError, Dataset
from core.safe_text import md
from core.store import workspace as core_ws
from core.store.artifacts import ArtifactInfo, list_artifacts, read_meta
from core.store.training import train_model
from core.train import Callback, TrainConfig

DEFAULT_MODELS = core_ws.DEFAULT_MODELS
LABELS = core_ws.LABELS
label = core_ws.label


def workspace_dir() -> Path:
    return core_ws.workspace_dir()


def default_dataset() -> str:
    return os.environ.get("RECLENS_DATASET", "sample")


def feedback_database() -> str:
    """SQLAlchemy URL of the feedback DB: $RECLENS_FEEDBACK_URL or workspace/feedback.sqlite."""
    from core.store.feedback import feedback_url  # SQLAlchemy only when feedback is used

    return os.environ.get("RECLENS_FEEDBACK_URL") or feedback_url(workspace_dir())


def artifact_folder(ds: Dataset, model: str) -> Path:
    return core_ws.artifact_folder(workspace_dir(), ds, model)


def artifacts() -> list[ArtifactInfo]:
    return [a for a in list_artifacts(workspace_dir()) if a.error is None]


def models_for(ds: Dataset) -> dict[str, Path]:
    """model name -> artifact folder for artifacts trained on `ds`, best-explained first."""
    return core_ws.models_for(workspace_dir(), ds)


def _allowed(path: str) -> bool:
    """On a team server (roles or RECLENS_DATA_ROOTS configured) a path that an artifact's
    meta.json records is offered only inside the data roots, as a typed folder is: meta.json is
    a data file (an uploaded zip can carry one), not the server's configuration (issue 28)."""
    if auth.mode() == "open" and not os.environ.get("RECLENS_DATA_ROOTS", "").strip():
        return True  # a laptop: every dataset its own models were trained on
    try:
        data_roots.check_folder(path, data_roots.data_roots(workspace_dir(), default_dataset()))
    except DataError:
        return False
    return True


def dataset_paths() -> list[str]:
    """The default dataset first, then every other dataset path recorded by an artifact."""

    paths = [default_dataset()]
    for a in artifacts():
        path = (read_meta(a.path).get("dataset") or {}).get("path")
        if not path or path in paths:
            continue
        if path == "sample" or (Path(path).is_dir() and _allowed(path)):
            paths.append(path)
    return paths


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


# --- first launch ------------------------------------------------------------------------------
@dataclass
class BackgroundJob:
    """A job one server thread runs for every session: the thread writes its progress, text and
    error; sessions only read them (a first launch here, an export on the Population page)."""

    total: int
    text: str = "starting"
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class FirstLaunch(BackgroundJob):
    """One background first launch (per workspace and dataset), shared by every session."""

    fraction: float = 0.0


# Server-wide registry of running first launches. A module global (imported once per server)
# rather than a cache_resource, because it must outlive every script run and every cache clear.
_LAUNCHES: dict[tuple[str, str], FirstLaunch] = {}
_LAUNCHES_LOCK = threading.Lock()


def _run_first_launch(
    job: FirstLaunch, ws: Path, ds: Dataset, path: str, lock: threading.Lock
) -> None:
    at = {"n": 0}

    def report(model, n, total, what):
        at["n"] = n
        job.fraction = n / max(total, 1)
        verb = "installing the bundled model" if what == "installing" else "training"
        job.text = f"{label(model)} ({n + 1}/{total}): {verb}"

    def callbacks_for(model):
        def on_progress(frac, text, _logs):
            job.fraction = min((at["n"] + frac) / job.total, 1.0)
            job.text = f"{label(model)} ({at['n'] + 1}/{job.total}): {text}"

        return [ProgressCallback(on_progress)]

    try:
        with lock:  # never two trainings at once (the Train page takes the same lock)
            core_ws.provide_defaults(
                ws,
                ds,
                path,
                report=report,
                callbacks_for=callbacks_for,
                fast=os.environ.get("RECLENS_FAST_TRAIN") == "1",
            )
    except Exception as err:  # shown to every waiting session, traceback in the server log
        logging.getLogger("reclens").exception("first launch failed")
        job.error = f"{type(err).__name__}: {err}"
    finally:
        job.seconds = time.perf_counter() - job.started
        job.fraction = 1.0
        job.done.set()


def first_launch(ws: Path, ds: Dataset, path: str) -> FirstLaunch | None:
    """The running first launch for (ws, ds), started if models are missing; None if none is
    needed."""
    key = (str(ws), ds.fingerprint())
    with _LAUNCHES_LOCK:
        job = _LAUNCHES.get(key)
        if job is not None and not job.done.is_set():
            return job
        missing = core_ws.missing_defaults(ws, ds)
        if not missing:
            return None
        job = FirstLaunch(total=len(missing))
        _LAUNCHES[key] = job
        # the lock is fetched here: cached objects are read from script threads only
        args = (job, ws, ds, path, state.train_lock())
        threading.Thread(
            target=_run_first_launch, args=args, name="reclens-first-launch", daemon=True
        ).start()
        return job


def ensure_default_models() -> bool:
    """Provide the default models on first launch (bundled artifacts, else training) with a
    progress bar, waiting for the shared background job.

    Returns False (after showing an error) when the default dataset cannot be loaded.
    """
    try:
        ds = state.dataset(default_dataset())
    except DataError as err:
        st.error(f"Cannot load the default dataset: {md(err)}")
        return False
    job = first_launch(workspace_dir(), ds, default_dataset())
    if job is None:
        return True
    notice = st.empty()
    missing = core_ws.missing_defaults(workspace_dir(), ds)
    bundled = all(core_ws.bundled_artifact(ds, m) for m in missing)
    notice.info(
        "First launch: installing the bundled sample models (a few seconds)."
        if bundled
        else f"First launch: training {job.total} default models on {ds.name} "
        "(runs in the background; you can leave this page and come back)."
    )
    bar = st.progress(job.fraction, text=job.text)
    while not job.done.wait(0.3):
        bar.progress(job.fraction, text=job.text)  # a rerun request stops this loop, not the job
    bar.empty()
    state.forget_models()
    if job.error:
        notice.error(f"First launch failed: {job.error}")
        return False
    notice.info(f"First launch done: {job.total} default models ready in {job.seconds:.0f} s.")
    return True
