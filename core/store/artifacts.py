"""Trained-model artifacts: a folder with weights.safetensors, meta.json and metrics.json.

Never pickled: weights are safetensors, everything else is JSON. A folder is written next to its
target under a temporary name and renamed into place, so a killed run leaves either the old
artifact or the new one, never a half-written folder that loads. Loading rebuilds the config from
meta.json, the split from its recorded method / ratios / seed (checked against a hash of the split),
the model (and its graphs) through the registry, then loads the weights.

Tamper-evident: meta.json records the sha256 of every other file of the folder and of its own
content (under "sha256"); loading verifies them and refuses a mismatch, naming the file. Folders
written before digests existed load with a warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from core.data import DataError, split_dataset
from core.data.recbole_split import METHOD as RECBOLE_SPLIT
from core.data.recbole_split import recbole_split
from core.models.base import ModelInputs, Recommender
from core.models.registry import UnknownModelError, make_config, model_class
from core.store.origin import origin_label

WEIGHTS, META, METRICS = "weights.safetensors", "meta.json", "metrics.json"
FORMAT_VERSION = 1
DIGESTS = "sha256"  # meta.json key: {file name: hex digest}; META's is over its other content


class ArtifactError(Exception):
    """An artifact folder that cannot be used: missing or corrupt file, unknown model, or made for
    another dataset. The message names the folder and what is wrong."""


class ArtifactBusy(ArtifactError):
    """Another training or deletion (CLI or dashboard, any process) holds the artifact's lock."""


@contextmanager
def artifact_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the exclusive write lock of artifact `folder` (an flock on the sibling file
    `.<name>.lock`, so it holds across processes and threads alike). The CLI's `train`, the
    dashboard's Train page and its Delete button all take it; a second writer is refused at once
    with ArtifactBusy instead of racing on the folder. Yields the folder."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder.parent / f".{folder.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArtifactBusy(
                f"{folder}: another training or deletion (CLI or dashboard) is writing this "
                "artifact; try again when it has finished"
            ) from None
        yield folder
    finally:
        os.close(fd)  # closing the descriptor releases the lock; the lock file stays


class ArtifactWarning(UserWarning):
    """An artifact that loads but cannot be verified (written before meta.json had digests)."""


@dataclass
class TrainedModel:
    """A model ready for inference (eval mode, `prepare_inference` done) with its provenance."""

    model: Recommender
    meta: dict[str, Any]
    metrics: dict[str, Any]
    split: Any  # core.data.Split the model was trained and evaluated on
    inputs: ModelInputs | None = None
    path: Path | None = None
    result: Any = None  # core.train.TrainResult when just trained; None when loaded
    warnings: list[str] = field(default_factory=list)  # e.g. unverified (no digests)


@dataclass(frozen=True)
class ArtifactInfo:
    """One artifact as listed in a workspace (read from meta.json / metrics.json only)."""

    path: Path
    model: str = ""
    dataset: str = ""
    fingerprint: str = ""
    created: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # set when the folder looks like an artifact but cannot be read
    origin: str = ""  # "" when trained here, else e.g. "RecBole 1.2.1 LightGCN" (origin_label)


def split_fingerprint(split) -> str:
    """Hash of a split's train / valid / test pairs; meta.json keeps it to check rebuilt splits."""
    h = hashlib.sha256()
    for part in (split.train, split.valid, split.test):
        arr = np.asarray(part if part is not None else np.empty((0, 2)), dtype=np.int64)
        h.update(np.ascontiguousarray(arr.reshape(-1, 2)).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def code_version() -> str:
    """`git describe` of the source tree when available (no network), else "unversioned"."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unversioned"  # not a git checkout (or no commit yet)


def save_artifact(
    folder: str | Path, model: Recommender, meta: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """Write the artifact atomically and return its path; an existing folder is replaced."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        # safetensors refuses tensors that share memory; save_model drops the duplicates and
        # load_model restores them, so tied weights survive.
        save_model(model, str(tmp / WEIGHTS))
        _write_json(tmp / METRICS, metrics)
        _write_json(tmp / META, _with_digests(tmp, {"format_version": FORMAT_VERSION, **meta}))
        _swap_into_place(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_json_default, allow_nan=True)
        f.flush()
        os.fsync(f.fileno())


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _meta_sha256(meta: dict[str, Any]) -> str:
    """Digest of meta.json's content without its digests, in a canonical JSON form (sorted keys)
    that a write and a read give alike."""
    body = {k: v for k, v in meta.items() if k != DIGESTS}
    text = json.dumps(body, sort_keys=True, default=_json_default, allow_nan=True)
    canonical = json.dumps(json.loads(text), sort_keys=True, allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _with_digests(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != META)
    digests = {p.name: file_sha256(p) for p in files}
    return {**meta, DIGESTS: {**digests, META: _meta_sha256(meta)}}


def verify_digests(folder: str | Path, meta: dict[str, Any] | None = None) -> list[str]:
    """Check every file digest meta.json records; raises ArtifactError naming the first file
    that differs or is missing. Returns warnings (a folder without digests: unverified)."""
    folder = Path(folder)
    meta = read_meta(folder) if meta is None else meta
    digests = meta.get(DIGESTS)
    if not isinstance(digests, dict) or not digests:
        return [
            f"{folder}: meta.json records no sha256 digests (written by an older RecLens), so "
            "its files cannot be verified; retrain it to make it tamper-evident"
        ]
    if digests.get(META) != _meta_sha256(meta):
        raise ArtifactError(
            f"{folder / META}: its content differs from the sha256 it records (edited by hand "
            "or corrupted since it was saved); refusing to load it"
        )
    for name, expected in sorted(digests.items()):
        path = folder / name
        if name == META:
            continue
        if Path(name).name != name or not path.is_file():
            raise ArtifactError(f"{path}: recorded in meta.json but missing from the artifact")
        if file_sha256(path) != expected:
            raise ArtifactError(
                f"{path}: sha256 differs from the one meta.json records (the file was altered "
                "or corrupted since it was saved); refusing to load it"
            )
    return []


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, torch.device)):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in an artifact's JSON")


def _swap_into_place(tmp: Path, folder: Path) -> None:
    """Rename tmp to folder. A directory rename cannot replace a non-empty one, so an existing
    artifact is first renamed aside and removed only once the new one is in place."""
    if not folder.exists():
        os.replace(tmp, folder)
        return
    old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def read_meta(folder: str | Path) -> dict[str, Any]:
    """meta.json of an artifact folder; raises ArtifactError if missing or unreadable."""
    return _read_json(Path(folder), META)


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such artifact folder")
    if not path.is_file():
        raise ArtifactError(f"{folder}: {name} is missing; this is not a complete artifact")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"{path}: unreadable JSON ({err})") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    return data


def load_artifact(folder: str | Path, dataset, device: str | torch.device = "cpu") -> TrainedModel:
    """Rebuild the trained model in `folder` for `dataset` on `device`, ready for inference.

    Raises ArtifactError when the folder was made for another dataset (fingerprints differ), a
    file is missing or corrupt, the model name is unknown, or the rebuilt split differs.
    """

    folder = Path(folder)
    meta = read_meta(folder)
    for name in (METRICS, WEIGHTS):
        if not (folder / name).is_file():
            raise ArtifactError(f"{folder}: {name} is missing; this is not a complete artifact")
    notes = verify_digests(folder, meta)
    for note in notes:
        warnings.warn(note, ArtifactWarning, stacklevel=2)
    metrics = _read_json(folder, METRICS)
    _check_dataset(folder, meta, dataset)
    name = str(meta.get("model", ""))
    try:
        cls = model_class(name)
        config = make_config(name, meta.get("config") or {})
    except (UnknownModelError, TypeError) as err:
        raise ArtifactError(f"{folder}: {err}") from None
    split = rebuild_split(folder, meta, dataset)
    inputs = ModelInputs.from_dataset(dataset, split)
    model = cls.build(inputs, config, torch.device(device))
    _load_weights(folder, model, device)
    model.eval()
    with torch.no_grad():
        model.prepare_inference()
    return TrainedModel(model, meta, metrics, split, inputs=inputs, path=folder, warnings=notes)


def _check_dataset(folder: Path, meta: dict[str, Any], dataset) -> None:
    recorded = meta.get("dataset") or {}
    if recorded.get("fingerprint") != dataset.fingerprint():
        raise ArtifactError(
            f"{folder} was trained on dataset '{recorded.get('name', '?')}' "
            f"(fingerprint {recorded.get('fingerprint', '?')}), not on '{dataset.name}' "
            f"(fingerprint {dataset.fingerprint()}); load it with the dataset it was made for"
        )


def rebuild_split(folder: Path, meta: dict[str, Any], dataset):
    """The split recorded in meta, recomputed from the dataset and checked against its hash."""

    info = meta.get("split") or {}
    if info.get("method") == RECBOLE_SPLIT:  # an imported RecBole checkpoint's own split
        source = info.get("folder") or (meta.get("dataset") or {}).get("path") or ""
        try:
            split = recbole_split(dataset, source, info.get("recbole") or {}, info.get("knowledge"))
        except DataError as err:
            raise ArtifactError(f"{folder}: cannot rebuild RecBole's split ({err})") from None
    else:
        split = split_dataset(
            dataset,
            method=info.get("method"),
            ratios=tuple(info.get("ratios") or (0.8, 0.1, 0.1)),
            seed=info.get("seed") if info.get("seed") is not None else 2020,
        )
    if info.get("fingerprint") and split_fingerprint(split) != info["fingerprint"]:
        raise ArtifactError(
            f"{folder}: the split recomputed from meta.json ({info}) differs from the one the "
            "model was trained on (was it trained on a custom split?)"
        )
    return split


def _load_weights(folder: Path, model: Recommender, device) -> None:
    path = folder / WEIGHTS
    if not path.is_file():
        raise ArtifactError(f"{folder}: {WEIGHTS} is missing")
    try:
        load_model(model, str(path), strict=True, device=str(device))
    except (SafetensorError, RuntimeError, OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArtifactError(f"{path}: corrupt or incompatible weights ({first})") from None


def list_artifacts(workspace: str | Path) -> list[ArtifactInfo]:
    """Artifacts directly under `workspace` or one level deeper, newest first."""
    root = Path(workspace)
    if not root.is_dir():
        return []
    found: list[ArtifactInfo] = []
    for meta_path in sorted(list(root.glob(f"*/{META}")) + list(root.glob(f"*/*/{META}"))):
        folder = meta_path.parent
        if any(part.startswith(".") for part in folder.relative_to(root).parts):
            continue  # temporary or set-aside folders of an interrupted write
        found.append(_info(folder))
    return sorted(found, key=lambda a: a.created, reverse=True)


def _info(folder: Path) -> ArtifactInfo:
    try:
        meta = read_meta(folder)
        metrics = _read_json(folder, METRICS)
    except ArtifactError as err:
        return ArtifactInfo(path=folder, error=str(err))
    flat = metrics.get("test", metrics)
    return ArtifactInfo(
        path=folder,
        model=str(meta.get("model", "")),
        dataset=str((meta.get("dataset") or {}).get("name", "")),
        fingerprint=str((meta.get("dataset") or {}).get("fingerprint", "")),
        created=str(meta.get("created", "")),
        metrics={k: float(v) for k, v in flat.items() if isinstance(v, (int, float))},
        origin=_origin(meta),
    )


def _origin(meta: dict[str, Any]) -> str:
    try:
        return origin_label(meta)
    except (TypeError, ValueError) as err:
        return f"unknown origin ({err})"


def delete_artifact(folder: str | Path) -> None:
    """Remove an artifact folder; refuses a folder that is not an artifact."""
    folder = Path(folder)
    if not (folder / META).is_file() and not (folder / WEIGHTS).is_file():
        raise ArtifactError(f"{folder}: not an artifact folder (no {META} or {WEIGHTS}); kept")
    shutil.rmtree(folder)
