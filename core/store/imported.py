"""Artifacts of models trained elsewhere, from embedding tables or from black-box top-k lists.

`import_embeddings` copies a user and an item table into an `embeddings` model (core.models.
embedding_table) and checks on random pairs that the artifact scores exactly as the tables
say; `import_lists` fits a surrogate (core.train.surrogate) and records its agreement with the
lists. Both write an ordinary artifact, evaluated on the dataset's test split like a trained
model, with its origin (core.store.origin) in meta.json, so every command, page and card that
reads artifacts reads these too.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data import Dataset, split_dataset
from core.data.errors import DataError
from core.data.toplists import read_lists
from core.data.vectors import align_vectors, read_vectors
from core.eval.metrics import item_attribute_matrix
from core.eval.runner import evaluate_split
from core.models.base import ModelInputs, Recommender, model_device
from core.models.registry import build_model, make_config
from core.store.artifacts import (
    TrainedModel,
    code_version,
    file_sha256,
    save_artifact,
    split_fingerprint,
)
from core.store.origin import EMBEDDINGS, SURROGATE, Origin
from core.train.surrogate import SurrogateConfig, fit_surrogate
from core.train.trainer import Callback, TrainConfig

PARITY_PAIRS = 200  # random (user, item) pairs whose scores are checked against the tables


def import_embeddings(
    dataset: Dataset,
    users: str | Path,
    items: str | Path,
    *,
    score: str = "dot",
    user_ids: str | Path | None = None,
    item_ids: str | Path | None = None,
    out: str | Path | None = None,
    dataset_source: dict[str, Any] | None = None,
    library: str = "",
) -> TrainedModel:
    """An `embeddings` artifact from a user table and an item table (core.data.vectors
    formats; user_ids / item_ids: the id files of .npy tables). score: "dot" or "cosine".
    Raises DataError for a bad table (naming file and row) or tables of two lengths."""
    user_table = read_vectors(users, user_ids)
    item_table = read_vectors(items, item_ids)
    if user_table.dim != item_table.dim:
        raise DataError(
            f"user vectors have {user_table.dim} numbers but the item vectors of {items} have "
            f"{item_table.dim}; expected the same length",
            path=users,
        )
    u = align_vectors(user_table, dataset.user_ids, "user")
    v = align_vectors(item_table, dataset.item_ids, "item")
    split = _split(dataset)
    inputs = ModelInputs.from_dataset(dataset, split)
    overrides = {"dim": user_table.dim, "score": score}
    model = build_model("embeddings", inputs, overrides)
    model.set_tables(u, v)
    model.eval()
    origin = Origin(
        kind=EMBEDDINGS,
        library=library,
        model="embeddings",
        file=f"{users}, {items}",
        sha256=f"{file_sha256(Path(users))}, {file_sha256(Path(items))}",
        measured={"max_score_diff": _score_gap(model, u, v, score)},
        summary=f"embeddings, {score}",
        settings={"score": score, "dim": user_table.dim},
    )
    return _finish(dataset, model, "embeddings", overrides, split, origin, {}, out, dataset_source)


def import_lists(
    dataset: Dataset,
    lists: str | Path,
    *,
    config: SurrogateConfig | None = None,
    out: str | Path | None = None,
    dataset_source: dict[str, Any] | None = None,
    callbacks: tuple[Callback, ...] = (),
    library: str = "",
) -> TrainedModel:
    """A surrogate artifact (LightGCN or KGAT) fitted to the black box's `lists`, with its
    agreement on held-out users recorded in meta.json's origin and in metrics.json."""
    cfg = config or SurrogateConfig()
    top = read_lists(lists, dataset)
    split = _split(dataset)
    inputs = ModelInputs.from_dataset(dataset, split)
    sur = fit_surrogate(inputs, top, cfg, callbacks)
    held = sur.heldout
    measured = {
        f"agreement@{cfg.k}": held.overlap,
        "rank_corr": held.rank_corr,
        "heldout_users": held.n_users,
        f"agreement@{cfg.k}_fitted": sur.fitted.overlap,
        "rank_corr_fitted": sur.fitted.rank_corr,
        "listed_in_history": sur.in_history,
    }
    origin = Origin(
        kind=SURROGATE,
        library=library,
        model=cfg.model,
        file=str(lists),
        sha256=file_sha256(Path(lists)),
        measured=measured,
        summary=f"surrogate of lists, {held.overlap:.2f}@{cfg.k}",
        settings=dataclasses.asdict(cfg),
    )
    fit_info = {
        "epochs": sur.result.epochs_run,
        "best_epoch": sur.result.best_epoch,
        "best_valid": sur.result.best_score,
        "monitor": f"valid overlap@{cfg.k} with the lists",
        "training_seconds": round(sur.result.train_seconds, 3),
    }
    config_dict = dataclasses.asdict(sur.model.config)
    return _finish(
        dataset, sur.model, cfg.model, config_dict, split, origin, fit_info, out, dataset_source
    )


def _split(dataset: Dataset):
    """The dataset's default split (its own when given), as `train` makes it."""
    cfg = TrainConfig()
    return split_dataset(dataset, cfg.split_method, cfg.split_ratios, cfg.split_seed)


@torch.no_grad()
def _score_gap(model: Recommender, u: np.ndarray, v: np.ndarray, score: str) -> float:
    """Largest |artifact score - the rule on the tables| over PARITY_PAIRS random pairs."""
    gen = np.random.default_rng(0)
    users = gen.integers(0, len(u), PARITY_PAIRS)
    items = gen.integers(0, len(v), PARITY_PAIRS)
    a, b = u[users].astype(np.float64), v[items].astype(np.float64)
    if score == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    expected = (a * b).sum(1)
    got = model.score_pairs(torch.as_tensor(users), torch.as_tensor(items)).double().numpy()
    return float(np.abs(got - expected).max())


def _finish(dataset, model, name, config, split, origin, fit_info, out, source) -> TrainedModel:
    """Evaluate on the test split, write meta.json / metrics.json (and the folder)."""
    model.eval()
    inputs = ModelInputs.from_dataset(dataset, split)
    final = evaluate_split(
        model, split, "test", item_attributes=item_attribute_matrix(inputs.n_items, inputs.kg)
    )
    metrics = {
        "test": final.metrics,
        "per_quartile": final.per_quartile,
        "eval_seconds": final.seconds,
        "n_test_users": final.n_users,
        "origin": origin.measured,
    }
    meta = {
        "model": name,
        "config": dataclasses.asdict(make_config(name, config)),
        "dataset": {
            "name": dataset.name,
            "fingerprint": dataset.fingerprint(),
            **{k: str(v) if v is not None else None for k, v in (source or {}).items()},
        },
        "split": {
            "method": split.method,
            "seed": split.seed,
            "ratios": list(TrainConfig().split_ratios),
            "fingerprint": split_fingerprint(split),
            "sizes": [len(split.train), len(split.valid), len(split.test)],
        },
        "origin": origin.to_meta(),
        "device": str(model_device(model)),
        "torch": torch.__version__,
        "test_evaluated": True,
        "code_version": code_version(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_unix": time.time(),
        **fit_info,
    }
    trained = TrainedModel(model, meta, metrics, split, inputs=inputs)
    if out is not None:
        trained.path = save_artifact(out, model, meta, metrics)
    return trained
