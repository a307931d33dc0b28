"""KGAT's aggregators: forward(x, neigh) -> the layer's output, where neigh = e_Nh is the
attention-weighted sum of the neighbours' previous-layer embeddings (`core.models.kgat`)."""

from __future__ import annotations

import warnings

import dgl
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


class LinearAggregator(nn.Module):
    """KGAT's other two aggregators (Wang et al., KDD 2019, section 2.3.2; RecBole's "gcn" and
    "graphsage"): LeakyReLU(W (x + neigh)) or LeakyReLU(W [x || neigh]). in_dim -> out_dim."""

    def __init__(self, in_dim: int, out_dim: int, negative_slope: float, concat: bool):
        super().__init__()
        self.concat = concat
        self.w = nn.Linear(2 * in_dim if concat else in_dim, out_dim)
        self.negative_slope = negative_slope
        nn.init.xavier_uniform_(self.w.weight)

    def init_weights(self, generator: torch.Generator) -> None:
        """Xavier-uniform weight; bias uniform in +-1/sqrt(fan_in) (torch's Linear default)."""
        draw_(self.w.weight, nn.init.xavier_uniform_, generator)
        bound = 1 / self.w.in_features**0.5
        draw_(self.w.bias, nn.init.uniform_, generator, a=-bound, b=bound)

    def forward(self, x: Tensor, neigh: Tensor) -> Tensor:
        """x, neigh: float [..., in_dim]. Returns [..., out_dim]."""
        joined = torch.cat([x, neigh], -1) if self.concat else x + neigh
        return F.leaky_relu(self.w(joined), self.negative_slope)


class LightAggregator(nn.Module):
    """A weightless layer: its output is the attention-weighted neighbour sum e_Nh."""

    def init_weights(self, generator: torch.Generator) -> None:
        """Nothing to draw (kept so every aggregator has the same interface)."""

    def forward(self, x: Tensor, neigh: Tensor) -> Tensor:
        """x, neigh: float [N, d]. Returns neigh."""
        return neigh


def aggregator(kind: str, in_dim: int, out_dim: int, negative_slope: float) -> nn.Module:
    """The layer `KGATConfig.aggregator` names: "light", "bi-interaction", "gcn", "graphsage"."""
    if kind == "light":
        return LightAggregator()
    if kind in ("gcn", "graphsage"):
        return LinearAggregator(in_dim, out_dim, negative_slope, concat=kind == "graphsage")
    return BiInteraction(in_dim, out_dim, negative_slope)


class CSRPattern:
    """The fixed sparsity of out[d] = sum over edges e = (s -> d) of w[e] * x[s]: a CSR
    matrix and its transpose whose values follow the edge weights (`with_weights`).

    KGAT rebuilds its attended products after every attention refresh; the graph never
    changes, so the sort that turns edges into CSR entries (torch's coalesce, 4 per refresh,
    ~0.1 s each on ml-100k's CKG) is done once here, and a refresh only sums the new weights
    into their entries. Repeated edges (the same head and tail under several relations, up to
    9 on ml-100k) are summed in the order coalesce sums them, that of the same `sort`, so the
    entries are bit for bit torch's.
    """

    def __init__(self, src: Tensor, dst: Tensor, n_src: int, n_dst: int):
        self.shape = (n_dst, n_src)
        self.crow, self.col, self._sums = _entries(dst, src, n_dst, n_src)
        self.t_crow, self.t_col, self._t_sums = _entries(src, dst, n_src, n_dst)

    def with_weights(self, weight: Tensor) -> CSRAggregation:
        """The aggregation with edge weights `weight` (float [E], treated as constants)."""
        w = weight.detach().float()
        return CSRAggregation(self, _summed(w, self._sums), _summed(w, self._t_sums))


def _entries(rows: Tensor, cols: Tensor, n_rows: int, n_cols: int):
    """CSR (row pointers, columns) of the edges rows[e] -> cols[e], and how to sum the edge
    values into each entry as `coalesce` does: it sorts the flat keys with `sort` and adds the
    values of equal keys into the first in that order. Returns the summing plan as
    (n_entries, [(entry ids, edge ids) of the r-th edge of each entry, r = 0, 1, ...])."""
    keys, perm = (rows * n_cols + cols).sort(0)
    new = torch.ones_like(keys, dtype=torch.bool)
    new[1:] = keys[1:] != keys[:-1]
    entry = torch.cumsum(new, 0) - 1  # entry id of each sorted edge
    start = torch.nonzero(new).view(-1)
    rank = torch.arange(len(keys), device=keys.device) - start[entry]
    unique_keys = keys[start]
    counts = torch.bincount(unique_keys // n_cols, minlength=n_rows)
    crow = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
    plan = []
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        at = rank == r
        plan.append((entry[at], perm[at]))
    # int32 indices where they fit: torch's CPU product otherwise copies them to int32 on
    # every call (~15 % of a product on ml-100k's CKG; the sums are the same)
    index = torch.int32 if max(n_rows, n_cols, len(keys)) < 2**31 - 1 else torch.int64
    return crow.to(index), (unique_keys % n_cols).to(index), (len(start), plan)


def _summed(weight: Tensor, sums) -> Tensor:
    n_entries, plan = sums
    values = weight.new_zeros(n_entries)
    for entries, edges in plan:  # entries are distinct within a round: one add each
        values[entries] += weight[edges]
    return values


class CSRAggregation:
    """out[d] = sum over edges (s -> d) of weight[e] * x[s] for constant weights: the CSR
    products of `core.models.layers.FixedAggregation` (the matrix forward, its stored transpose
    in the backward) on entries built by a `CSRPattern`."""

    def __init__(self, pattern: CSRPattern, values: Tensor, t_values: Tensor):
        with warnings.catch_warnings():  # "sparse CSR support is in beta": products are stable
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self.matrix = torch.sparse_csr_tensor(pattern.crow, pattern.col, values, pattern.shape)
            self.transposed = torch.sparse_csr_tensor(
                pattern.t_crow, pattern.t_col, t_values, pattern.shape[::-1]
            )

    def __call__(self, x: Tensor) -> Tensor:
        """x: float [n_src, d]. Returns float [n_dst, d]."""
        return _CSRMatmul.apply(x, self.matrix, self.transposed)

    def with_rows(self, x: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        """(self(x), x[rows]) as one autograd node, for distinct `rows` (int64 [R]): the
        backward adds the rows' gradient into the product's in place, where two nodes would
        each make a [n_src, d] gradient (one zero-filled) and add them. The same gradient
        (the same two terms added per row). Returns float [n_dst, d] and [R, d]."""
        return _CSRMatmulAndRows.apply(x, self.matrix, self.transposed, rows)


class _CSRMatmul(torch.autograd.Function):
    """matrix @ x for a constant CSR matrix; the backward uses its stored transpose rather
    than transposing the matrix on every pass."""

    @staticmethod
    def forward(ctx, x: Tensor, matrix: Tensor, transposed: Tensor) -> Tensor:  # noqa: D102
        ctx.transposed = transposed
        return matrix @ x

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        return ctx.transposed @ grad, None, None


class _CSRMatmulAndRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, matrix: Tensor, transposed: Tensor, rows: Tensor):  # noqa: D102
        ctx.transposed, ctx.rows, ctx.x_shape = transposed, rows, x.shape
        return matrix @ x, x.index_select(0, rows)

    @staticmethod
    def backward(ctx, grad: Tensor | None, grad_rows: Tensor | None):  # noqa: D102
        if grad is None:
            out = grad_rows.new_zeros(ctx.x_shape)
        else:
            out = ctx.transposed @ grad
        if grad_rows is not None:
            out.index_add_(0, ctx.rows, grad_rows)
        return out, None, None, None


class MaskedScale(torch.autograd.Function):
    """h * keep / scale for a constant 0/1 float mask `keep`: bit for bit what autograd gives
    for `h * (rand >= p) / scale` in value and gradient (multiplying by 0 or 1 is exact, so
    the order of the mask and the division does not change the gradient), with one temporary
    instead of three per pass."""

    @staticmethod
    def forward(ctx, h: Tensor, keep: Tensor, scale: float) -> Tensor:  # noqa: D102
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return torch.mul(h, keep).div_(scale)

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        (keep,) = ctx.saved_tensors
        return torch.mul(grad, keep).div_(ctx.scale), None, None


def cf_block(
    src: Tensor, dst: Tensor, n_items: int, n_entities: int, n_nodes: int
) -> tuple[Tensor, Tensor, dgl.DGLBlock]:
    """The CF loss reads final embeddings of users and items only, so KGAT's last layer is
    computed for them alone, on a block holding just the CKG edges into them (edges src -> dst,
    messages tail -> head). Returns (those edges' ids int64 [C], the block's rows: items then
    users, int64 [I + U], the block)."""
    is_cf = (src < n_items) | (src >= n_entities)
    eids = is_cf.nonzero().squeeze(1)
    local = torch.where(src < n_items, src, src - n_entities + n_items)[eids]
    nodes = torch.cat([torch.arange(n_items), torch.arange(n_entities, n_nodes)]).to(src.device)
    block = dgl.create_block((dst[eids], local), num_src_nodes=n_nodes, num_dst_nodes=len(nodes))
    return eids, nodes, block
