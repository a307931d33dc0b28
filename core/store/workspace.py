"""The workspace folder shared by the dashboard and the CLI: where artifacts live, which models a
first launch provides, and the bundled sample models.

Layout: `<workspace>/<dataset name>-<fingerprint[:8]>/<model>/` (one artifact folder per model
and dataset), `<workspace>/<dataset folder>/first-launch.json` (which default models the first
launch has provided), and `<workspace>/feedback.sqlite`.

First launch. Each default model comes from the artifacts bundled under `sample_data/models/`
when one was made for this very dataset (same fingerprint; copied in, then loaded and verified
like any artifact), else it is trained with `FIRST_LAUNCH`. A model counts as provided only
once its artifact is in place, so an interrupted first launch resumes where it stopped; once
every default model was provided the marker says so, and a model deleted later on purpose is
not brought back.

`python -m core sample-models [OUT]` (`make sample-models`, core.cli.samples) regenerates the
bundled sample artifacts from `FIRST_LAUNCH`: the one source of truth for what a newcomer sees.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from core.data import load_dataset
from core.models.kgat_config import (
    SAMPLE_FIRST_LAUNCH,
    SAMPLE_FIRST_LAUNCH_EPOCHS,
    SAMPLE_FIRST_LAUNCH_TRAIN,
)
from core.store.artifacts import WEIGHTS, ArtifactError, list_artifacts, read_meta
from core.store.layout import BUNDLE, artifact_folder, dataset_folder
from core.store.layout import workspace_dir as workspace_dir  # the layout is part of this API
from core.store.training import train_model
from core.train import TrainConfig

MARKER = "first-launch.json"

DEFAULT_MODELS = ("mostpop", "bprmf", "lightgcn", "attention", "kgat")
# The sidebar's model order: the best-explained model first, so a newcomer lands on a full card.
PREFERRED = ("kgat", "attention", "lightgcn", "bprmf", "mostpop")
LABELS = {
    "mostpop": "MostPop",
    "bprmf": "BPR-MF",
    "lightgcn": "LightGCN",
    "attention": "Attention",
    "kgat": "KGAT",
    "transe": "TransE",
    "transr": "TransR",
}

# What a first launch provides, per model: TrainConfig fields and model-config overrides. These
# are the benchmark settings (benchmarks/accuracy.py TRAIN, see benchmarks/RESULTS.md), with
# early stopping on validation NDCG@20, and they make the bundled sample artifacts
# (`make sample-models`). Change a model's entry here, then rerun that target.
FIRST_LAUNCH: dict[str, dict[str, dict[str, Any]]] = {
    "mostpop": {"train": {"epochs": 1}, "model": {}},
    "bprmf": {"train": {"epochs": 200, "lr": 2e-3, "batch_size": 2048}, "model": {}},
    "lightgcn": {"train": {"epochs": 150, "lr": 5e-3, "batch_size": 2048}, "model": {}},
    "attention": {"train": {"epochs": 40, "lr": 5e-3, "batch_size": 2048}, "model": {}},
    # core.models.kgat_config.SAMPLE_FIRST_LAUNCH (issue 11, session 5): two light layers of
    # 224, mean-combined, TransR on the KG's own triples; the evidence is next to it
    "kgat": {
        "train": {
            "epochs": SAMPLE_FIRST_LAUNCH_EPOCHS,
            **SAMPLE_FIRST_LAUNCH_TRAIN,
            "eval_every": 2,
        },
        "model": dataclasses.asdict(SAMPLE_FIRST_LAUNCH),
    },
}


def label(model: str) -> str:
    return LABELS.get(model, model)


def model_order(model: str) -> tuple[int, str]:
    return (PREFERRED.index(model) if model in PREFERRED else len(PREFERRED), model)


def models_for(workspace: Path, dataset) -> dict[str, Path]:
    """model name -> artifact folder for the readable artifacts trained on `dataset` (newest
    wins), best-explained model first. An imported model is listed under its origin label
    ("RecBole 1.2.1 LightGCN"), after the models trained here."""
    found: dict[str, Path] = {}
    for a in list_artifacts(workspace):
        key = a.origin or a.model
        if a.error is None and a.fingerprint == dataset.fingerprint() and key not in found:
            found[key] = a.path
    return dict(sorted(found.items(), key=lambda kv: model_order(kv[0])))


# --- first launch ------------------------------------------------------------------------------
def _marker(workspace: Path, dataset) -> Path:
    return dataset_folder(workspace, dataset) / MARKER


def first_launch_complete(workspace: Path, dataset) -> bool:
    try:
        return bool(json.loads(_marker(workspace, dataset).read_text()).get("complete"))
    except (OSError, ValueError):
        return False


def missing_defaults(workspace: Path, dataset, models: tuple[str, ...] = DEFAULT_MODELS):
    """Default models the first launch still has to provide (none once it completed)."""
    if first_launch_complete(workspace, dataset):
        return []
    have = models_for(workspace, dataset)
    return [m for m in models if m not in have]


def mark_complete(workspace: Path, dataset, models: tuple[str, ...] = DEFAULT_MODELS) -> None:
    """Record that every default model was provided (written atomically)."""
    path = _marker(workspace, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{MARKER}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps({"complete": True, "models": list(models)}))
    os.replace(tmp, path)


def bundled_artifact(dataset, model: str, bundle: Path = BUNDLE) -> Path | None:
    """The bundled artifact of `model` made for this dataset (same fingerprint), or None."""
    folder = Path(bundle) / model
    try:
        meta = read_meta(folder)
    except ArtifactError:
        return None
    same = (meta.get("dataset") or {}).get("fingerprint") == dataset.fingerprint()
    return folder if same and meta.get("model") == model else None


def install_bundled(workspace: Path, dataset, model: str, bundle: Path = BUNDLE) -> Path | None:
    """Copy the bundled artifact of `model` into the workspace (atomically: a hidden temporary
    copy renamed into place); None when none is bundled for `dataset`.

    Its dataset fingerprint was checked by `bundled_artifact` and its weights file is opened
    (header and tensor table) here; raises ArtifactError when that fails. Loading it later
    checks everything again, as for any artifact (`load_artifact`: fingerprint, split, weights).
    """
    src = bundled_artifact(dataset, model, bundle)
    if src is None:
        return None
    dest = artifact_folder(workspace, dataset, model)
    tmp = dest.parent / f".{model}.copy-{uuid.uuid4().hex[:8]}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, tmp)
    try:
        _check_weights(tmp)
        if dest.exists():
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _check_weights(folder: Path) -> None:
    """Open the safetensors file's header and tensor table (cheap: no model is built)."""
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt") as f:
            if not list(f.keys()):
                raise ArtifactError(f"{folder / WEIGHTS}: no tensors")
    except (SafetensorError, OSError, ValueError) as err:
        raise ArtifactError(f"{folder / WEIGHTS}: not a safetensors file ({err})") from None


def train_config(model: str, fast: bool = False):
    """The TrainConfig of `model`'s first-launch training (fast: one epoch, for tests)."""
    preset = FIRST_LAUNCH.get(model, {"train": {"epochs": 3}})["train"]
    # the rule the bundled sample artifacts were trained with (raw patience 10), not today's
    # library default (smoothed patience 20, issue 25), so `make sample-models` reproduces them
    cfg = TrainConfig(**{"patience": 10, "smooth_window": 1, **preset})
    if fast:
        cfg = dataclasses.replace(cfg, epochs=1, eval_every=1, patience=0)
    return cfg


def overrides(model: str) -> dict[str, Any]:
    return dict(FIRST_LAUNCH.get(model, {}).get("model", {}))


def train_default(
    workspace: Path,
    dataset,
    dataset_path: str,
    model: str,
    callbacks=(),
    fast: bool = False,
    out_dir: Path | None = None,
) -> Path:
    """Train `model` with its first-launch preset and save it (atomically) into the workspace
    (or `out_dir`); returns the artifact folder."""
    trained = train_model(
        dataset,
        model,
        overrides=overrides(model),
        train_config=train_config(model, fast),
        out_dir=out_dir or artifact_folder(workspace, dataset, model),
        callbacks=list(callbacks),
        dataset_source={"path": dataset_path},
    )
    return trained.path


Report = Callable[[str, int, int, str], None]  # (model, n, total, "installed" | "training")


def provide_defaults(
    workspace: Path,
    dataset,
    dataset_path: str,
    report: Report | None = None,
    callbacks_for: Callable[[str], list] | None = None,
    fast: bool = False,
    bundle: Path = BUNDLE,
) -> list[str]:
    """Provide every missing default model (bundled copy, else training), then mark the first
    launch complete. Returns the models provided by this call. Safe to call again after an
    interruption: what is in place is kept and the rest is done."""
    todo = missing_defaults(workspace, dataset)
    for n, model in enumerate(todo):
        if report:
            report(model, n, len(todo), "installing")
        if install_bundled(workspace, dataset, model, bundle) is None:
            if report:
                report(model, n, len(todo), "training")
            callbacks = callbacks_for(model) if callbacks_for else []
            train_default(workspace, dataset, dataset_path, model, callbacks, fast)
    if not missing_defaults(workspace, dataset):
        mark_complete(workspace, dataset)
    return todo


def build_bundle(out: Path, models: tuple[str, ...] = DEFAULT_MODELS) -> None:
    """Train the sample's first-launch models into `out/<model>/` (one thread, so the weights
    are the same bytes on every run on the same platform and library versions)."""
    torch.set_num_threads(1)
    ds = load_dataset("sample")
    for model in models:
        path = train_default(Path(out), ds, "sample", model, out_dir=Path(out) / model)
        print(f"{model}: {path}", flush=True)
