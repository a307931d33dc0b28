"""Persistence: trained-model artifacts (safetensors + JSON, never pickle)."""

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
