"""What every re-scorer shares: the rows an edit of one user's history changes (`RowEdits`,
built by `history_edits`), the lookup of those rows (`find_rows`), and the rows L hops
upstream of a set of nodes (`upstream_rows`), which local propagations compute layer by layer.
Nothing here writes to a graph: a model shared by several sessions is only read.
"""

from __future__ import annotations

from dataclasses import dataclass

import dgl
import torch
from torch import Tensor


def find_rows(rows: Tensor, nodes: Tensor) -> tuple[Tensor, Tensor]:
    """Where `nodes` (int64 [n]) occur in `rows` (sorted, unique int64 [A]): (bool [n] found,
    int64 [n] position in rows, meaningful where found). The lookup of the few rows a graph
    edit changes, shared by the re-scoring of LightGCN and KGAT."""
    if len(rows) == 0:
        return torch.zeros_like(nodes, dtype=torch.bool), torch.zeros_like(nodes)
    pos = torch.searchsorted(rows, nodes).clamp(max=len(rows) - 1)
    return rows[pos] == nodes, pos


@dataclass(frozen=True)
class RowEdits:
    """B edited versions of one user's history, as replacement in-edge lists for the few
    nodes whose neighbourhood the edits change (the user and the items added or removed).

    Node ids are those of the graph the edits were built on (`history_edits`). Every other node
    keeps its in-edges in every column, so one shared sparse product serves them all.
    rows: int64 [R] changed nodes, the user first.
    src: int64 [M] message source of each replacement edge; row: int64 [M] its index in rows.
    eid: int64 [M] id of the edge in the graph, -1 for an edge that only an edit adds.
    mask: float [M, B] 1 where the edge exists in column b, else 0.
    """

    rows: Tensor
    src: Tensor
    row: Tensor
    eid: Tensor
    mask: Tensor

    @property
    def n_columns(self) -> int:
        return self.mask.shape[1]

    def degrees(self) -> Tensor:
        """In-degree of each changed node in each column. float [R, B]."""
        out = self.mask.new_zeros(len(self.rows), self.n_columns)
        return out.index_add_(0, self.row, self.mask)

    def aggregate_values(self, values: Tensor, weight: Tensor) -> Tensor:
        """sum over the replacement edges into each row of weight * values, per column.

        values: float [M, B, d] (the message source's features per edge); weight: [M, B].
        Returns float [R, B, d]."""
        msgs = values * weight.unsqueeze(2)
        out = values.new_zeros(len(self.rows), values.shape[1], values.shape[2])
        return out.index_add_(0, self.row, msgs)

    def aggregate(self, x: Tensor, weight: Tensor) -> Tensor:
        """sum over the replacement edges into each row of weight * x[src], per column.

        x: float [N, B, d]; weight: float [M, B] (mask included). Returns float [R, B, d].
        """
        msgs = x[self.src] * weight.unsqueeze(2)
        out = x.new_zeros(len(self.rows), x.shape[1], x.shape[2])
        return out.index_add_(0, self.row, msgs)


def history_edits(g: dgl.DGLGraph, user: int, full: Tensor, histories: list[Tensor]) -> RowEdits:
    """RowEdits of `histories` (each a set of item node ids) against the user's graph history
    `full` (item node ids), on a graph `g` whose edges carry messages src -> dst and hold every
    interaction in both directions. Only the user's own edges change; nothing is written to g.
    """
    device = full.device
    hist = [h.to(device).long().unique() for h in histories]
    union = torch.unique(torch.cat([full, *hist])) if hist else full
    member = torch.stack([torch.isin(union, h) for h in hist], 1)  # [|union|, B]
    in_full = torch.isin(union, full)
    changed = ~(member.all(1) & in_full)
    items = union[changed]
    # rows of changed items: their graph in-edges except the one from the user, then that one
    src, dst, eid = g.in_edges(items, form="all")
    keep = src != user
    src, dst, eid = src[keep], dst[keep], eid[keep]
    pos = torch.searchsorted(items, dst)
    user_t = torch.full_like(items, user)
    u_to_item = torch.full_like(items, -1)
    known = in_full[changed]
    if known.any():
        u_to_item[known] = g.edge_ids(user_t[known], items[known])
    # the user's row: one edge from every item of the union
    item_to_u = torch.full_like(union, -1)
    if in_full.any():
        item_to_u[in_full] = g.edge_ids(union[in_full], torch.full_like(union[in_full], user))
    n_cols = len(hist)
    ones = torch.ones(len(src), n_cols, device=device)
    own_rows = torch.arange(1, len(items) + 1, device=device)
    return RowEdits(
        rows=torch.cat([torch.tensor([user], device=device), items]),
        src=torch.cat([src, user_t, union]),
        row=torch.cat([pos + 1, own_rows, torch.zeros_like(union)]),
        eid=torch.cat([eid, u_to_item, item_to_u]),
        mask=torch.cat([ones, member[changed].float(), member.float()]),
    )


def upstream_rows(g: dgl.DGLGraph, nodes: Tensor, n_layers: int) -> list[Tensor]:
    """The rows each layer must be computed on so that the last layer is right on `nodes`
    (sorted, unique int64): need[-1] = nodes, and each earlier entry adds the in-neighbours (in
    `g`, messages src -> dst) of the next. Returns max(n_layers, 1) sorted int64 tensors, the
    first layer's rows first."""
    need = [nodes]
    for _ in range(n_layers - 1):
        need.append(torch.unique(torch.cat([need[-1], g.in_edges(need[-1])[0]])))
    need.reverse()
    return need
