"""KGAT's aggregators: forward(x, neigh) -> the layer's output, where neigh = e_Nh is the
attention-weighted sum of the neighbours' previous-layer embeddings (`core.models.kgat`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import draw_


class BiInteraction(nn.Module):
    """Bi-interaction aggregator (eq. 8). in_dim -> out_dim."""

    def __init__(self, in_dim: int, out_dim: int, negative_slope: float):
        super().__init__()
        self.w1 = nn.Linear(in_dim, out_dim)
        self.w2 = nn.Linear(in_dim, out_dim)
        self.negative_slope = negative_slope
        nn.init.xavier_uniform_(self.w1.weight)
        nn.init.xavier_uniform_(self.w2.weight)

    def init_weights(self, generator: torch.Generator) -> None:
        """Xavier-uniform weights; biases uniform in +-1/sqrt(in_dim) (torch's Linear default)."""
        for lin in (self.w1, self.w2):
            draw_(lin.weight, nn.init.xavier_uniform_, generator)
            bound = 1 / lin.in_features**0.5
            draw_(lin.bias, nn.init.uniform_, generator, a=-bound, b=bound)

    def forward(self, x: Tensor, neigh: Tensor) -> Tensor:
        """x, neigh: float [N, in_dim] (ego and aggregated neighbours). Returns [N, out_dim]."""
        act = F.leaky_relu
        return act(self.w1(x + neigh), self.negative_slope) + act(
            self.w2(x * neigh), self.negative_slope
        )


class LightAggregator(nn.Module):
    """A weightless layer: its output is the attention-weighted neighbour sum e_Nh."""

    def init_weights(self, generator: torch.Generator) -> None:
        """Nothing to draw (kept so every aggregator has the same interface)."""

    def forward(self, x: Tensor, neigh: Tensor) -> Tensor:
        """x, neigh: float [N, d]. Returns neigh."""
        return neigh


def aggregator(kind: str, in_dim: int, out_dim: int, negative_slope: float) -> nn.Module:
    """The layer `KGATConfig.aggregator` names: "light" or "bi-interaction"."""
    if kind == "light":
        return LightAggregator()
    return BiInteraction(in_dim, out_dim, negative_slope)
