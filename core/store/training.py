"""`train_model`: split, build, fit, evaluate on test (or, for tuning, on validation only), save
the artifact. The CLI and the dashboard call this; it sits in the store layer because it writes
artifacts (core.train below it knows nothing of folders)."""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from core.data import split_dataset
from core.eval.metrics import item_attribute_matrix
from core.eval.runner import evaluate_split
from core.models.base import ModelInputs
from core.models.registry import build_model, make_config
from core.store.artifacts import (
    ArtifactError,
    TrainedModel,
    code_version,
    load_artifact,
    read_meta,
    save_artifact,
    split_fingerprint,
)
from core.train.trainer import (
    Callback,
    TrainConfig,
    TrainResult,
    batch_size_of,
    fit,
    learning_rate,
    resolve_device,
)


def train_model(
    dataset,
    model_name: str,
    *,
    overrides: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
    split=None,
    out_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    dataset_source: dict[str, Any] | None = None,
    checkpoint_every: int | None = None,
    init_from: str | Path | None = None,
    evaluate_test: bool = True,
    strategy=None,
) -> TrainedModel:
    """Train `model_name` on `dataset` and return it evaluated (and saved when `out_dir` is set).

    split: a core.data Split; None splits with train_config's split_method / ratios / split_seed.
    A given split is recorded by method and hash; loading recomputes it from the dataset and
    refuses the artifact if it differs, so pass only splits that `split_dataset` reproduces.
    dataset_source: {"path": ..., "format": ...} recorded in meta.json so the CLI finds the data
    again (`evaluate ARTIFACT` with no --dataset).
    checkpoint_every: with out_dir, also save the current weights every N epochs (meta.json then
    has "checkpoint": true and metrics.json no test metrics), so a killed long run leaves a
    loadable artifact; the final save replaces it.
    init_from: an artifact of the same model on the same dataset and split whose weights start
    this run (continue a run with another learning rate, say); its model settings are kept
    (`overrides` must not change them) and meta.json records it under "init_from".
    evaluate_test: False for tuning runs: the final evaluation is on the validation pairs and
    the test pairs are never scored, so settings can be compared without seeing test; metrics
    then hold "valid" instead of "test", and meta.json records "test_evaluated": false.
    strategy: how each step computes the loss, called as strategy(model, inputs) -> loss_fn
    (core.train.minibatch.MiniBatch, core.train.distributed.DataParallel); None: full-graph
    `model.loss`. meta.json records `strategy.describe()` under "strategy".
    Returns a TrainedModel in eval mode with `metrics = {"test": {...}, "per_quartile": [...]}`
    (`"valid"` in place of `"test"` when evaluate_test is False).
    """
    cfg = train_config or TrainConfig()
    device = resolve_device(cfg.device)
    if init_from is not None:  # start from the artifact's settings; overrides may restate them
        overrides = {**(read_meta(init_from).get("config") or {}), **(overrides or {})}
    config = make_config(model_name, overrides)  # fail on a bad setting before splitting
    if split is None:
        split = split_dataset(dataset, cfg.split_method, cfg.split_ratios, cfg.split_seed)
    inputs = ModelInputs.from_dataset(dataset, split)
    model = build_model(model_name, inputs, dataclasses.asdict(config), device)
    # the start is drawn from the run's own generator, never torch's global one (DESIGN.md)
    model.init_weights(torch.Generator().manual_seed(cfg.seed))
    # meta.json records the rate and batch size used, not None
    cfg = dataclasses.replace(
        cfg, lr=learning_rate(model, cfg), batch_size=batch_size_of(model, cfg)
    )
    start = _warm_start(init_from, dataset, model_name, config, split, model, device)
    if checkpoint_every and out_dir is not None:
        meta_of = functools.partial(
            _meta, dataset, model_name, config, cfg, split, device=device, source=dataset_source
        )
        callbacks = [*callbacks, Checkpoint(Path(out_dir), model, meta_of, checkpoint_every)]
    loss_fn = strategy(model, inputs) if strategy is not None else None
    result = fit(model, inputs, split, cfg, callbacks, loss_fn=loss_fn)
    target = "test" if evaluate_test else "valid"
    final = evaluate_split(
        model,
        split,
        target,
        batch_size=cfg.eval_batch_size,
        item_attributes=item_attribute_matrix(inputs.n_items, inputs.kg),
    )
    model.eval()
    metrics = {
        target: final.metrics,
        "per_quartile": final.per_quartile,
        "eval_seconds": final.seconds,
        f"n_{target}_users": final.n_users,
    }
    meta = _meta(dataset, model_name, config, cfg, split, result, device, dataset_source)
    meta["test_evaluated"] = evaluate_test
    if start is not None:
        meta["init_from"] = start
    if strategy is not None:
        meta["strategy"] = strategy.describe()
    trained = TrainedModel(model, meta, metrics, split, inputs=inputs, result=result)
    if out_dir is not None:
        trained.path = save_artifact(out_dir, model, meta, metrics)
    return trained


def _warm_start(init_from, dataset, model_name, config, split, model, device) -> dict | None:
    """Load `init_from`'s weights into `model` after checking it is the same model, settings
    and split; returns what meta.json records about it (None without init_from)."""
    if init_from is None:
        return None
    warm = load_artifact(init_from, dataset, device)
    meta = warm.meta
    problems = []
    if meta.get("model") != model_name:
        problems.append(f"it holds {meta.get('model')!r}, not {model_name!r}")
    if meta.get("config") != json.loads(json.dumps(dataclasses.asdict(config))):
        problems.append("its model settings differ from this run's")
    if meta.get("split", {}).get("fingerprint") != split_fingerprint(split):
        problems.append("it was trained on another split (its test items could leak)")
    if problems:
        raise ArtifactError(f"{init_from}: cannot start from this artifact: {'; '.join(problems)}")
    model.load_state_dict(warm.model.state_dict())
    model.train()
    return {
        "path": str(init_from),
        "epochs": meta.get("epochs"),
        "best_valid": meta.get("best_valid"),
        "lr": meta.get("train_config", {}).get("lr"),
    }


class Checkpoint(Callback):
    """Saves the model's current weights as an artifact every `every` epochs (atomically)."""

    def __init__(self, folder: Path, model, meta_of, every: int) -> None:
        self.folder, self.model, self.meta_of, self.every = folder, model, meta_of, every
        self.result = TrainResult()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.result.history.append(dict(logs))
        self.result.seconds_per_epoch.append(logs.get("seconds", 0.0))
        self.result.epochs_run = epoch
        if epoch % self.every == 0:
            meta = {**self.meta_of(result=self.result), "checkpoint": True}
            save_artifact(self.folder, self.model, meta, {"checkpoint_epoch": epoch, **logs})


def _meta(dataset, model_name, config, cfg, split, result, device, source) -> dict[str, Any]:
    method = split.method
    ratios = list(cfg.split_ratios)
    return {
        "model": model_name,
        "config": dataclasses.asdict(config),
        "train_config": dataclasses.asdict(cfg),
        "dataset": {
            "name": dataset.name,
            "fingerprint": dataset.fingerprint(),
            **({k: str(v) if v is not None else None for k, v in (source or {}).items()}),
        },
        "split": {
            "method": method,
            "seed": split.seed,
            "ratios": ratios,
            "fingerprint": split_fingerprint(split),
            "sizes": [len(split.train), len(split.valid), len(split.test)],
        },
        "seed": cfg.seed,
        "device": str(device),
        "torch": torch.__version__,
        "training_seconds": round(result.train_seconds, 3),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "monitor": result.monitor,
        "best_valid": result.best_score,
        "seconds_per_epoch": round(result.mean_epoch_seconds, 4),
        "history": result.history,
        "code_version": code_version(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_unix": time.time(),
    }
