"""Import a RecBole 1.2.x checkpoint as an ordinary RecLens artifact.

The checkpoint is read by the restricted reader (core.store.safe_checkpoint: nothing in it runs);
its Config becomes plain settings; RecBole's ids and split are rebuilt from the dataset's atomic
files (core.data.recbole_ids / recbole_split); the weights move to a RecLens model that computes
the same scores (core.store.recbole_map). The artifact records the split as method "recbole" with
the settings that rebuild it, and its origin (core.store.origin) with the checkpoint's sha256 and
the parity measured at import: RecLens's validation figure of RecBole's `valid_metric` on RecBole's
split against the best validation score the checkpoint records, and the test Recall@20 / NDCG@20.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.data import Dataset
from core.data.recbole_ids import recbole_ids, recbole_kg_ids
from core.data.recbole_split import METHOD, split_from_ids
from core.eval.metrics import item_attribute_matrix
from core.eval.runner import evaluate, evaluate_split
from core.models.base import ModelInputs
from core.store.artifacts import (
    code_version,
    file_sha256,
    save_artifact,
    split_fingerprint,
)
from core.store.origin import CHECKPOINT, Origin
from core.store.recbole_map import build_model, mapping_for, recorded_settings
from core.store.safe_checkpoint import CheckpointError, Inert, load_checkpoint

# RecBole rounds the stored best validation score (4 decimals by default): a larger difference
# means the dataset, the split or the weights are not what the checkpoint was validated on
VALID_TOLERANCE = 1e-3

# the RecBole settings that rebuild its ids and split (core.data.recbole_ids / recbole_split)
SPLIT_SETTINGS = (
    "seed",
    "eval_args",
    "benchmark_filename",
    "load_col",
    "filter_inter_by_user_or_item",
    "rm_dup_inter",
    "val_interval",
    "user_inter_num_interval",
    "item_inter_num_interval",
    "alias_of_user_id",
    "alias_of_item_id",
    "entity_kg_num_interval",
    "relation_kg_num_interval",
    "kg_reverse_r",
)


@dataclass
class RecBoleCheckpoint:
    """What a checkpoint holds, as data. settings: its final_config_dict (plain values)."""

    path: Path
    sha256: str
    model: str
    settings: dict[str, Any]
    state: dict[str, Any]
    best_valid: float | None


@dataclass
class ImportResult:
    folder: Path
    origin: Origin
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def mismatch(self) -> str | None:
        """A warning when RecLens's validation figure differs from the checkpoint's own."""
        diff = self.origin.measured.get("valid difference")
        if diff is None or diff <= VALID_TOLERANCE:
            return None
        return (
            f"RecLens's validation figure differs from the one the checkpoint records by "
            f"{diff:.4f}: the dataset or its settings may not be those it was trained on"
        )


def _plain(value: Any) -> Any:
    """Settings as JSON values: inert records become their class name."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Inert):
        return f"{value.module}.{value.name}{value.args!r}"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_recbole_checkpoint(path: str | Path) -> RecBoleCheckpoint:
    """A RecBole Trainer checkpoint read as data; CheckpointError when it is not one."""
    path = Path(path)
    obj = load_checkpoint(path)
    config = obj.get("config") if isinstance(obj, dict) else None
    final = config.state.get("final_config_dict") if isinstance(config, Inert) else None
    if not isinstance(final, dict) or not isinstance(obj.get("state_dict"), dict):
        raise CheckpointError(
            f"{path}: not a RecBole checkpoint (expected 'config' with final_config_dict and "
            "'state_dict', as RecBole's Trainer saves them)"
        )
    best = obj.get("best_valid_score")
    return RecBoleCheckpoint(
        path=path,
        sha256=file_sha256(path),
        model=str(final.get("model")),
        settings=_plain(final),
        state=obj["state_dict"],
        best_valid=float(best) if isinstance(best, int | float | np.generic) else None,
    )


def _parity(model, split, ckpt: RecBoleCheckpoint, unknown: np.ndarray) -> dict[str, float]:
    """The figures RecBole itself would report: rankings over the checkpoint's items only (the
    items it never numbered are masked for every user, as if seen)."""
    hidden = np.stack(np.meshgrid(np.arange(model.n_users), unknown), -1).reshape(-1, 2)
    train = np.concatenate([split.train, hidden]) if len(unknown) else split.train
    valid = evaluate(model, train, split.valid, beyond_accuracy=False)
    test = evaluate(model, train, split.test, valid=split.valid, beyond_accuracy=False)
    measured = {k: test.metrics[k] for k in ("recall@20", "ndcg@20") if k in test.metrics}
    metric = str(ckpt.settings.get("valid_metric", "")).lower()
    if ckpt.best_valid is not None and metric in valid.metrics:
        measured[f"valid {metric}"] = valid.metrics[metric]
        measured[f"valid {metric} (RecBole)"] = ckpt.best_valid
        measured["valid difference"] = abs(valid.metrics[metric] - ckpt.best_valid)
    if len(unknown):
        measured["items unknown to the checkpoint"] = float(len(unknown))
    return measured


def _metrics(model, split, inputs: ModelInputs) -> dict:
    """metrics.json as training writes it: RecLens's test evaluation over every item of the
    dataset, what `python -m core evaluate` prints."""
    attributes = item_attribute_matrix(inputs.n_items, inputs.kg)
    test = evaluate_split(model, split, "test", item_attributes=attributes)
    return {
        "test": test.metrics,
        "per_quartile": test.per_quartile,
        "eval_seconds": test.seconds,
        "n_test_users": test.n_users,
    }


def import_recbole(
    checkpoint: str | Path,
    dataset: Dataset,
    folder: str | Path,
    out: str | Path,
    *,
    dataset_source: dict[str, Any] | None = None,
    version: str = "1.2",
) -> ImportResult:
    """Write artifact `out` from RecBole checkpoint `checkpoint` for `dataset` (loaded from the
    atomic files in `folder`). Raises CheckpointError / UnsafeCheckpoint (unreadable or
    code-carrying file), ArtifactError (unsupported model, sizes that do not match) or DataError
    (settings that cannot be rebuilt)."""
    start = time.perf_counter()
    ckpt = read_recbole_checkpoint(checkpoint)
    mapping = mapping_for(ckpt.model)
    ids = recbole_ids(dataset, folder, ckpt.settings, mapping.knowledge)
    split = split_from_ids(dataset, ids, ckpt.settings, Path(folder))
    inputs = ModelInputs.from_dataset(dataset, split)
    kg_ids = recbole_kg_ids(dataset, folder, ids) if mapping.knowledge else None
    model = build_model(mapping, ckpt.settings, inputs, ckpt.state, ids, kg_ids)
    notes = list(ids.notes)
    n_unknown = dataset.n_items - (len(ids.items) - 1)
    if n_unknown:
        notes.append(
            f"{n_unknown} item(s) RecBole dropped are unknown to the checkpoint: scored as items "
            "with a zero embedding and no edges; the parity figures rank the checkpoint's items "
            "only, as RecBole does"
        )
    unknown = np.setdiff1d(np.arange(dataset.n_items), ids.items[1:])
    measured = _parity(model, split, ckpt, unknown)
    metrics = _metrics(model, split, inputs)
    origin = Origin(
        kind=CHECKPOINT,
        library="RecBole",
        version=version,
        model=ckpt.model,
        file=ckpt.path.name,
        sha256=ckpt.sha256,
        measured=measured,
        summary=f"RecBole {version} {ckpt.model}",
        settings=recorded_settings(mapping, ckpt.settings),
    )
    meta = {
        "model": mapping.reclens,
        "config": asdict(model.config),
        "dataset": {
            "name": dataset.name,
            "fingerprint": dataset.fingerprint(),
            **{k: str(v) for k, v in (dataset_source or {}).items() if v is not None},
        },
        "split": {
            "method": METHOD,
            "seed": split.seed,
            "fingerprint": split_fingerprint(split),
            "sizes": [len(split.train), len(split.valid), len(split.test)],
            "recbole": {k: ckpt.settings.get(k) for k in SPLIT_SETTINGS},
            "knowledge": mapping.knowledge,
            "folder": str(Path(folder).resolve()),
        },
        "origin": origin.to_meta(),
        "code_version": code_version(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_unix": time.time(),
        "import_seconds": round(time.perf_counter() - start, 3),
    }
    path = save_artifact(out, model, meta, metrics)
    return ImportResult(path, origin, metrics, notes)
