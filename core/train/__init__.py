"""Training: the model-agnostic `fit` loop, negative sampling and the high-level `train_model`."""

from core.train.api import train_model
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
    "train_model",
]
