"""Shared DGL building blocks: normalised propagation and per-call graph edits.

Everything here is functional (`dgl.ops`): nothing writes to `g.ndata` / `g.edata`, so a graph
shared by several dashboard sessions is never modified.
"""

from __future__ import annotations

import dgl
import torch
from torch import Tensor


def symmetric_norm(g: dgl.DGLGraph) -> Tensor:
    """deg^-1/2 per node (in-degree; isolated nodes count as degree 1). Returns float [N]."""
    return g.in_degrees().float().clamp(min=1).pow(-0.5)


def normalised_propagate(
    g: dgl.DGLGraph, x: Tensor, norm: Tensor, edge_weight: Tensor | None = None
) -> Tensor:
    """One symmetric-normalised step D^-1/2 A D^-1/2 x (LightGCN eq. 3), summed at dst.

    x: float [N, d]; norm: float [N] from `symmetric_norm`; edge_weight: optional float [E]
    multiplying each message. Without it the normalisation is applied as node scaling around
    an unweighted `copy_u_sum`, several times faster on CPU than an edge-weighted product.
    Returns float [N, d].
    """
    h = x * norm.unsqueeze(1)
    if edge_weight is None:
        h = dgl.ops.copy_u_sum(g, h)
    else:
        h = dgl.ops.u_mul_e_sum(g, h, edge_weight.unsqueeze(1).to(h.dtype))
    return h * norm.unsqueeze(1)


def replace_node_edges(
    src: Tensor, dst: Tensor, node: int, neighbours: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Edge lists with every edge touching `node` replaced by node <-> neighbours (both ways).

    src, dst: int64 [E]; neighbours: int64 [H] node ids. Returns (src', dst', kept):
    kept is the bool [E] mask of original edges kept (they come first, in order), followed by
    H edges node -> neighbour and H edges neighbour -> node.
    """
    kept = (src != node) & (dst != node)
    own = torch.full_like(neighbours, node)
    new_src = torch.cat([src[kept], own, neighbours])
    new_dst = torch.cat([dst[kept], neighbours, own])
    return new_src, new_dst, kept


def local_subgraph(g: dgl.DGLGraph, node: int, hops: int) -> tuple[dgl.DGLGraph, Tensor, int]:
    """The `hops`-hop in-neighbourhood of `node`: all a `hops`-layer GNN reads to embed it.

    Returns (subgraph, original node ids int64 [n], position of `node` in the subgraph).
    Edge ids of the subgraph map to the parent through `subgraph.edata[dgl.EID]`.
    """
    sub, inverse = dgl.khop_in_subgraph(g, node, hops)
    return sub, sub.ndata[dgl.NID], int(inverse[0])
