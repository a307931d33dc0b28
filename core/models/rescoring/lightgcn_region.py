"""LightGCN's exact re-scoring on the part of the graph an edit changes (the propagation that
`LightGCNRescorer` runs).

`EditedPropagation`: B edited versions of one user's history (`RowEdits`: the user's row and
the added / removed items' rows get new in-edges and degrees) propagated as *changes* against
the unedited model's stored layers (`BaseLayers`, computed once by `prepare_inference`, never
written). With m_l = D^-1/2 e_l the message a node sends at layer l and Z_{l+1} = A m_l (so
e_{l+1} = D^-1/2 Z_{l+1}), a node v keeps its in-edges unless it is an edited row, so in column b

    e'_{l+1}[v] = n'_v (Z_{l+1}[v] + sum_{s -> v} dm_l[s] + sum_{edit s -> v} diff m'_l[s])

where dm_l = m'_l - m_l is non-zero only on the rows changed at layer l and on the edited rows
(their degree changes), the first sum runs over the graph's in-edges and the second over the
user <-> item edges an edit adds (diff = +1) or removes (diff = -1). So layer l + 1 changes only
on the out-neighbours of layer l's changed rows (plus the edited rows): each layer is a sparse
product over those rows' out-edges, the L-hop region of the edit, never the whole graph. The
last layer is computed only for the rows asked for (`finals`), and `scores` contracts it with
the user's vector before summing over edges (one number per edge and column instead of c).
The numbers are those of propagating every edited graph from scratch (`LightGCN.reference_scores`;
tests/models/test_lightgcn_refit.py), to float rounding.

`pair_scores_with_edge_weight`: scores of (user, item) pairs with per-edge weights, propagated
only on the pairs' L-hop in-neighbourhood (each layer on the in-edges of the rows the next layer
reads): what the edge attribution differentiates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import dgl
import torch
from torch import Tensor

from core.models.rescoring.edits import RowEdits, find_rows, upstream_rows


@dataclass(frozen=True)
class BaseLayers:
    """The unedited model's propagation, read-only (shared by every re-scoring call).

    x0: float [N, d] the layer-0 table; layers: float [N, d] each, e_1 .. e_K; final: float
    [N, d] their mean with x0 (what `score` uses); norm: float [N] deg^-1/2 of the graph.
    """

    x0: Tensor
    layers: list[Tensor]
    final: Tensor
    norm: Tensor

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def rows(self, depth: int, nodes: Tensor, channels: int) -> Tensor:
        """e_depth of `nodes`, float [n, channels] (extra channels are zeros: the gain
        channel's unedited value)."""
        h = (self.x0 if depth == 0 else self.layers[depth - 1])[nodes]
        return _pad(h, channels)


def _pad(h: Tensor, channels: int) -> Tensor:
    extra = channels - h.shape[-1]
    return torch.cat([h, h.new_zeros(*h.shape[:-1], extra)], -1) if extra else h


@dataclass
class Work:
    """What one `EditedPropagation` processed, per layer computed: rows and edges (for the
    tests that the work stays in the edit's region)."""

    rows: list[int] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)


class EditedPropagation:
    """The B edited graphs of `edits`, as per-layer changes on the rows they reach.

    graph: the model's interaction graph (never modified); base: its `BaseLayers`.
    user_x0: optional float [B, d], the user's layer-0 embedding per column (default: the
    learned one). gain: add one channel, c = d + 1, holding each row's coefficient of the
    user's layer-0 embedding e, and set e's own channels to zero: the row's final embedding
    with embedding e is then v[:d] + v[d] * e (propagation is linear), which the re-fit uses.
    Layers 1 .. K-1 are computed at construction on every row they change; layer K on demand.
    """

    def __init__(
        self,
        graph: dgl.DGLGraph,
        base: BaseLayers,
        edits: RowEdits,
        user_x0: Tensor | None = None,
        gain: bool = False,
    ):
        self.graph, self.base, self.edits = graph, base, edits
        self.b = b = edits.n_columns
        dim = base.x0.shape[1]
        self.c = dim + int(gain)
        device = base.x0.device
        self.work = Work()
        rows = edits.rows
        user = rows[:1]
        self._slot = torch.full((graph.num_nodes(),), -1, dtype=torch.long, device=device)
        self._slot[rows] = torch.arange(len(rows), device=device)  # node -> index in rows
        self._norm_rows = edits.degrees().clamp(min=1).pow(-0.5)  # [R, B] edited degrees
        # the edges an edit adds (+1) or removes (-1) in each column; every other replacement
        # edge is a graph edge present in every column
        diff = edits.mask - (edits.eid >= 0).to(edits.mask.dtype).unsqueeze(1)
        changed = diff.ne(0).any(1)
        self._edit = (edits.src[changed], edits.row[changed], diff[changed])
        if gain:  # e's channels zero, its coefficient one: the change is [-learned, 1]
            x0 = torch.cat([-base.x0[user], base.x0.new_ones(1, 1)], 1).expand(b, -1)
            first = (user, x0.unsqueeze(0).clone())
        elif user_x0 is not None:
            first = (user, (user_x0.to(base.x0) - base.x0[user]).unsqueeze(0))
        else:
            first = (user[:0], base.x0.new_zeros(0, b, self.c))
        self.deltas: list[tuple[Tensor, Tensor]] = [first]  # (sorted rows, change [A, B, c])
        self._messages: dict[int, tuple[Tensor, Tensor]] = {}  # `_message_change` per depth
        for depth in range(1, base.n_layers):
            self.deltas.append(self._layer(depth, None))

    # --- pieces -------------------------------------------------------------------------------
    def _edited_norm(self, nodes: Tensor) -> Tensor:
        """deg^-1/2 of `nodes` in each column, float [n, B]."""
        out = self.base.norm[nodes].unsqueeze(1).repeat(1, self.b)
        slot = self._slot[nodes]
        hit = slot >= 0
        out[hit] = self._norm_rows[slot[hit]]
        return out

    def _delta_at(self, depth: int, nodes: Tensor) -> Tensor:
        """Change of e_depth at `nodes` (zero where unchanged), float [n, B, c]."""
        rows, vals = self.deltas[depth]
        out = vals.new_zeros(len(nodes), self.b, self.c)
        hit, pos = find_rows(rows, nodes)
        out[hit] = vals[pos[hit]]
        return out

    def _message_change(self, depth: int) -> tuple[Tensor, Tensor]:
        """(sources: the rows changed at `depth` and the edited rows, sorted int64 [S];
        dm_depth there, float [S, B, c]). Computed once per depth."""
        if depth in self._messages:
            return self._messages[depth]
        rows, vals = self.deltas[depth]
        if depth == 0:  # at most the user's row changed; the edited rows' degrees did
            src = torch.unique(torch.cat([rows, self.edits.rows]))
            vals = self._delta_at(depth, src)
        else:  # `_layer` keeps the edited rows among the changed ones
            src = rows
        norm = self._edited_norm(src)
        dm = vals * norm.unsqueeze(2)
        edited = self._slot[src] >= 0  # their degree changed: m moves even where e does not
        base = self.base.rows(depth, src[edited], self.c).unsqueeze(1)
        dm[edited] += (norm[edited] - self.base.norm[src[edited]].unsqueeze(1)).unsqueeze(2) * base
        self._messages[depth] = (src, dm)
        return src, dm

    def _positions(self, rows: Tensor) -> Tensor:
        """int64 [N]: the index of each node in `rows`, -1 for the others."""
        out = torch.full((self.graph.num_nodes(),), -1, dtype=torch.long, device=rows.device)
        out[rows] = torch.arange(len(rows), device=rows.device)
        return out

    def _edges_into(self, src: Tensor, targets: Tensor | None) -> tuple[Tensor, Tensor]:
        """Graph edges from the rows `src` into `targets` (None: anywhere), as (index into
        src, destination node), listed from whichever side has fewer edges."""
        g = self.graph
        at = self._positions(src)
        if targets is None or int(g.out_degrees(src).sum()) <= int(g.in_degrees(targets).sum()):
            s, d = g.out_edges(src)
            if targets is not None:
                keep = self._positions(targets)[d] >= 0
                s, d = s[keep], d[keep]
        else:
            s, d = g.in_edges(targets)
            keep = at[s] >= 0
            s, d = s[keep], d[keep]
        return at[s], d

    def _layer(self, depth: int, targets: Tensor | None) -> tuple[Tensor, Tensor]:
        """(rows, change of e_depth there [A, B, c]): on `targets` (sorted), or on every row
        it can change (None)."""
        src, dm = self._message_change(depth - 1)
        s, d = self._edges_into(src, targets)
        rows = torch.unique(torch.cat([d, self.edits.rows])) if targets is None else targets
        agg = _sum_into(s, self._positions(rows)[d], len(rows), dm)
        self.work.rows.append(len(rows))
        self.work.edges.append(len(s))
        norm = self._edited_norm(rows)
        edited = self._slot[rows] >= 0
        if edited.any():
            e_src, e_row, diff = self._edit
            e_dst = self.edits.rows[e_row]
            keep, pos = find_rows(rows, e_dst)
            if keep.any():  # messages along the edges an edit adds or removes
                e_src, diff = e_src[keep], diff[keep]
                value = self.base.rows(depth - 1, e_src, self.c).unsqueeze(1)
                value = value + self._delta_at(depth - 1, e_src)
                msg = self._edited_norm(e_src).unsqueeze(2) * value
                agg.index_add_(0, pos[keep], msg * diff.unsqueeze(2))
            old = self.base.norm[rows[edited]].unsqueeze(1)
            base = self.base.rows(depth, rows[edited], self.c).unsqueeze(1)
            lift = (norm[edited] / old - 1).unsqueeze(2) * base  # Z * (n' - n) = e (n'/n - 1)
        out = agg.mul_(norm.unsqueeze(2))
        if edited.any():
            out[edited] += lift
        return rows, out

    # --- results ------------------------------------------------------------------------------
    def finals(self, nodes: Tensor) -> Tensor:
        """Final (layer-mean) embeddings of `nodes` in each column, float [n, B, c]."""
        uniq, inverse = torch.unique(nodes, return_inverse=True)
        n_layers = self.base.n_layers
        total = _pad(self.base.final[uniq], self.c).unsqueeze(1).repeat(1, self.b, 1)
        change = sum(self._delta_at(depth, uniq) for depth in range(len(self.deltas)))
        if n_layers:
            change = change + self._layer(n_layers, uniq)[1]
        return total.add_(change / (n_layers + 1))[inverse]

    def scores(self, items: Tensor, vectors: Tensor) -> Tensor:
        """Final embeddings of item nodes `items` (int64 [C]) dotted with `vectors[b]` (float
        [B, c]) in each column b. Returns float [B, C].

        The last layer's change at an unedited row is n_v sum_{s -> v} dm[s], so its dot with
        the column's vector is summed over edges as the scalars dm[s] . vector."""
        uniq, inverse = torch.unique(items, return_inverse=True)
        n_layers = self.base.n_layers
        out = _pad(self.base.final[uniq], self.c) @ vectors.T  # [C, B]
        change = out.new_zeros(len(uniq), self.b)
        for rows, vals in self.deltas:
            hit, pos = find_rows(rows, uniq)
            change[hit] += (vals[pos[hit]] * vectors).sum(2)
        if n_layers:
            src, dm = self._message_change(n_layers - 1)
            s, d = self._edges_into(src, uniq)
            used, s = torch.unique(s, return_inverse=True)  # the sources with such an edge
            dot = (dm[used] * vectors).sum(2)  # [S, B]
            last = dot.new_zeros(len(uniq), self.b)
            last.index_add_(0, self._positions(uniq)[d], dot[s])
            self.work.rows.append(len(uniq))
            self.work.edges.append(len(s))
            change += last * self.base.norm[uniq].unsqueeze(1)
            edited = self._slot[uniq] >= 0  # their own degree and in-edges: the vector way
            if edited.any():
                rows = uniq[edited]
                vals = self._layer(n_layers, rows)[1]
                change[edited] += torch.einsum("abc,bc->ab", vals, vectors) - last[edited] * (
                    self.base.norm[rows].unsqueeze(1)
                )
        return (out + change / (n_layers + 1)).T[:, inverse]


def _sum_into(src: Tensor, dst: Tensor, n_dst: int, values: Tensor) -> Tensor:
    """out[d] = sum over pairs (s, d) of values[s]; src, dst: int64 [E]; values [S, B, c].
    Returns float [n_dst, B, c]. One CSR product (DGL's block construction costs more than the
    product on the small regions of a typical edit)."""
    b, c = values.shape[1], values.shape[2]
    if len(src) == 0:
        return values.new_zeros(n_dst, b, c)
    order = torch.argsort(dst)
    crow = torch.zeros(n_dst + 1, dtype=torch.long, device=dst.device)
    crow[1:] = torch.cumsum(torch.bincount(dst, minlength=n_dst), 0)
    ones = values.new_ones(len(src))
    matrix = _csr(crow, src[order], ones, len(values))
    return (matrix @ values.reshape(len(values), b * c)).view(n_dst, b, c)


def pair_scores_with_edge_weight(
    graph: dgl.DGLGraph,
    x0: Tensor,
    norm: Tensor,
    n_layers: int,
    users: Tensor,
    items: Tensor,
    edge_weight: Tensor,
) -> Tensor:
    """Scores of (users[j], items[j]) (node ids, int64 [P]) with every message of graph edge e
    scaled by edge_weight[e] (float [E], differentiable), computed on the pairs' in-neighbourhood
    only: layer l runs on the in-edges of the rows layer l + 1 reads (the rows K - l hops from a
    pair's nodes), so every other edge gets exactly zero gradient, as in the full propagation.
    x0: float [N, d] layer-0 table (no gradient flows into it); norm: float [N] the graph's
    deg^-1/2. Returns float [P]."""
    n = graph.num_nodes()
    targets = torch.unique(torch.cat([users, items]))
    need = upstream_rows(graph, targets, n_layers)  # need[l - 1]: the rows layer l runs on
    if n_layers:
        src, dst, eid = graph.in_edges(need[0], form="all")
        order = torch.argsort(dst, stable=True)  # grouped by destination: CSR rows
        src, dst, eid = src[order], dst[order], eid[order]
        rows = torch.unique(torch.cat([need[0], src]))
    else:
        rows = targets
    h = x0.detach()[rows]
    total = h[_index(rows, targets, n)]
    for depth in range(n_layers):
        out_rows = need[depth]
        at = _index(out_rows, dst, n)
        keep = at >= 0
        src, dst, eid, at = src[keep], dst[keep], eid[keep], at[keep]
        crow = torch.zeros(len(out_rows) + 1, dtype=torch.long, device=at.device)
        crow[1:] = torch.cumsum(torch.bincount(at, minlength=len(out_rows)), 0)
        msg = h * norm[rows].unsqueeze(1)
        w = edge_weight[eid].to(msg.dtype)
        h = _EdgeWeightedSum.apply(w, msg, crow, _index(rows, src, n)) * norm[out_rows].unsqueeze(1)
        rows = out_rows
        total = total + h[_index(rows, targets, n)]
    final = total / (n_layers + 1)
    return (final[_index(targets, users, n)] * final[_index(targets, items, n)]).sum(1)


def _index(rows: Tensor, nodes: Tensor, n: int) -> Tensor:
    """Position of each of `nodes` in `rows` (int64, unique, node ids < n), -1 if absent."""
    at = torch.full((n,), -1, dtype=torch.long, device=rows.device)
    at[rows] = torch.arange(len(rows), device=rows.device)
    return at[nodes]


def _csr(crow: Tensor, col: Tensor, values: Tensor, n_cols: int) -> Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": these products are stable
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, (len(crow) - 1, n_cols))


class _EdgeWeightedSum(torch.autograd.Function):
    """out[r] = sum over the edges e of CSR row r of w[e] * x[col[e]], as a CSR product.

    The gradient in w is a sampled product (each edge's dot of the output's gradient and its
    source row), the one in x the transposed product: on CPU about 3x faster than DGL's
    edge-weighted `u_mul_e_sum` and its backward, whose per-edge scalar takes a broadcasting
    path. w: float [E]; x: float [S, d]; crow: int64 [R + 1]; col: int64 [E]. [R, d]."""

    @staticmethod
    def forward(ctx, w: Tensor, x: Tensor, crow: Tensor, col: Tensor) -> Tensor:
        ctx.save_for_backward(w, x, crow, col)
        return _csr(crow, col, w, len(x)) @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        w, x, crow, col = ctx.saved_tensors
        grad = grad.contiguous()
        grad_w = grad_x = None
        if ctx.needs_input_grad[0]:
            pattern = _csr(crow, col, torch.ones_like(w), len(x))
            grad_w = torch.sparse.sampled_addmm(pattern, grad, x.T, beta=0.0).values()
        if ctx.needs_input_grad[1]:
            row = torch.repeat_interleave(torch.arange(len(crow) - 1, device=w.device), crow.diff())
            order = torch.argsort(col, stable=True)
            t_crow = torch.zeros(len(x) + 1, dtype=torch.long, device=w.device)
            t_crow[1:] = torch.cumsum(torch.bincount(col, minlength=len(x)), 0)
            grad_x = _csr(t_crow, row[order], w[order], len(grad)) @ grad
        return grad_w, grad_x, None, None
