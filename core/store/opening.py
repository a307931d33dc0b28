"""Open an artifact together with the dataset it was trained on (the one recorded in its
meta.json unless another is given). `ExplainContext.from_artifact` builds on this."""

from __future__ import annotations

from pathlib import Path

import torch

from core.data import Dataset, load_dataset
from core.store.artifacts import ArtifactError, TrainedModel, load_artifact, read_meta
from core.train import resolve_device


def open_artifact(
    folder: str | Path,
    dataset: Dataset | str | Path | None = None,
    device: str | torch.device = "cpu",
    fmt: str | None = None,
) -> tuple[Dataset, TrainedModel]:
    """(dataset, trained model) of the artifact in `folder`.

    dataset: a loaded Dataset, a dataset folder (or "sample"), or None for the folder recorded
    in meta.json; fmt: its format (default: as recorded); device: "auto", "cpu", "cuda" or a
    torch.device. Raises ArtifactError (nothing recorded, another dataset's artifact, a bad
    file) or core.data.DataError.
    """
    if not isinstance(dataset, Dataset):
        recorded = read_meta(folder).get("dataset") or {}
        path = dataset or recorded.get("path")
        if not path:
            raise ArtifactError(f"{folder}: no dataset path recorded; pass the dataset")
        dataset = load_dataset(path, fmt or recorded.get("format"))
    device = resolve_device(device) if isinstance(device, str) else device
    return dataset, load_artifact(folder, dataset, device)
