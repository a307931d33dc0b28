"""Plain `torch.sparse` reference propagation, used only by the parity tests.

These functions spell the papers' equations out with an explicit sparse matrix so that the DGL
layers in `lightgcn.py` and `kgat.py` can be checked against them. They are slow and never used
in training or inference.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _sparse(src: Tensor, dst: Tensor, values: Tensor, n: int) -> Tensor:
    """Sparse matrix A [n, n] with A[dst, src] = value, so `A @ x` sums messages at dst."""
    index = torch.stack([dst, src])
    return torch.sparse_coo_tensor(index, values, (n, n)).coalesce()


def lightgcn_reference(
    src: Tensor, dst: Tensor, x: Tensor, n_layers: int, edge_weight: Tensor | None = None
) -> Tensor:
    """LightGCN (He et al. 2020, eq. 3-4): x_{k+1} = D^-1/2 A D^-1/2 x_k, readout = mean_k x_k.

    src, dst: int64 [E] edges of a symmetric graph; x: float [N, d] layer-0 embeddings;
    edge_weight: optional float [E] multiplying each normalised entry. Returns float [N, d].
    """
    n = x.shape[0]
    deg = torch.zeros(n, dtype=x.dtype).index_add_(0, dst, torch.ones_like(dst, dtype=x.dtype))
    norm = deg.clamp(min=1).pow(-0.5)
    values = norm[src] * norm[dst]
    if edge_weight is not None:
        values = values * edge_weight
    adj = _sparse(src, dst, values, n)
    layers = [x]
    for _ in range(n_layers):
        layers.append(torch.sparse.mm(adj, layers[-1]))
    return torch.stack(layers).mean(0)


def kgat_attention_reference(src: Tensor, dst: Tensor, logits: Tensor, n_nodes: int) -> Tensor:
    """KGAT attention (Wang et al. 2019, eq. 5): softmax of pi(h, r, t) over the triples of h.

    An edge src -> dst is the triple (h=src, r, t=dst). logits: float [E]. Returns float [E],
    summing to one over the out-edges of every head.
    """
    exp = (logits - logits.max()).exp()  # one shift for all: fine at test magnitudes
    denom = torch.zeros(n_nodes, dtype=logits.dtype).index_add_(0, src, exp)
    return exp / denom[src]


def kgat_bi_interaction_reference(
    src: Tensor,
    dst: Tensor,
    attention: Tensor,
    x: Tensor,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    negative_slope: float = 0.2,
) -> Tensor:
    """One KGAT bi-interaction layer (eq. 8) with plain sparse algebra, no dropout.

    e_Nh = sum_t pi(h, r, t) e_t over the triples (h=src, r, t=dst);
    out = LeakyReLU((e_h + e_Nh) W1 + b1) + LeakyReLU((e_h * e_Nh) W2 + b2).
    x: float [N, d]; w1, w2: float [d, d'] (x @ w); b1, b2: float [d']. Returns float [N, d'].
    """
    # messages flow from the tail (dst) to the head (src)
    adj = _sparse(dst, src, attention, x.shape[0])
    neigh = torch.sparse.mm(adj, x)
    act = torch.nn.functional.leaky_relu
    return act((x + neigh) @ w1 + b1, negative_slope) + act((x * neigh) @ w2 + b2, negative_slope)
