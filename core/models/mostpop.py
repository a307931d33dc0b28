"""MostPop: recommend what most users interacted with in training.

The classic non-personalised baseline. It has no trainable parameters: the trainer skips its loop,
and its one buffer (the popularity vector) is saved with the artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from core.models.base import ModelInputs, Recommender


@dataclass(frozen=True)
class MostPopConfig:
    """MostPop has no hyper-parameters."""


class MostPop(Recommender):
    """Scores every item by its number of distinct training users, the same for every user."""

    name: ClassVar[str] = "mostpop"
    config_cls: ClassVar[type] = MostPopConfig

    def __init__(self, n_users: int, n_items: int, config: MostPopConfig | None = None) -> None:
        super().__init__(n_users, n_items)
        self.config = config or MostPopConfig()
        self.register_buffer("popularity", torch.zeros(n_items))  # float [n_items]

    @classmethod
    def build(cls, inputs: ModelInputs, config: MostPopConfig, device: torch.device) -> MostPop:
        model = cls(inputs.n_users, inputs.n_items, config)
        pairs = np.unique(np.asarray(inputs.train, dtype=np.int64).reshape(-1, 2), axis=0)
        counts = np.bincount(pairs[:, 1], minlength=inputs.n_items).astype(np.float32)
        model.popularity.copy_(torch.from_numpy(counts))
        return model.to(device)

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """Nothing to learn; returns a zero that does not require grad."""
        return torch.zeros((), device=self.popularity.device)

    def score(self, users: Tensor) -> Tensor:
        """Popularity of every item, one identical row per user: float [B, n_items]."""
        return self.popularity.unsqueeze(0).repeat(len(users), 1)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return self.popularity[items]

    def item_popularity(self) -> Tensor:
        """Distinct training users per item, float [n_items] (a copy)."""
        return self.popularity.clone()

    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Popularity does not depend on one user's history, so editing it changes nothing:
        returns the unchanged popularity of `items`, float [len(items)]."""
        return self.popularity[items.to(self.popularity.device)].clone()
