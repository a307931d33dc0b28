"""Training: the model-agnostic `fit` loop and negative sampling (`train_model`, which also
saves the artifact, is core.store.training)."""

from core.train.trainer import (
    Callback,
    TrainConfig,
    TrainingDiverged,
    TrainResult,
    fit,
    resolve_device,
)

__all__ = [
    "Callback",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "fit",
    "resolve_device",
]
