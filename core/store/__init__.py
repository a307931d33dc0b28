"""Persistence: trained-model artifacts (safetensors + JSON, never pickle).

The names below are imported on first use (PEP 562), so `core.store.layout` and
`core.store.feedback` can be imported without torch (the dashboard's warm-up starts before
the heavy imports, app/boot.py)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.store.artifacts import (
        ArtifactError,
        ArtifactInfo,
        ArtifactWarning,
        TrainedModel,
        delete_artifact,
        list_artifacts,
        load_artifact,
        read_meta,
        save_artifact,
    )

__all__ = [
    "ArtifactError",
    "ArtifactInfo",
    "ArtifactWarning",
    "TrainedModel",
    "delete_artifact",
    "list_artifacts",
    "load_artifact",
    "read_meta",
    "save_artifact",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("core.store.artifacts"), name)
    raise AttributeError(f"module 'core.store' has no attribute {name!r}")
