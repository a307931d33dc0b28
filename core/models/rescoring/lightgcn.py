"""LightGCN's re-scoring of edited histories, over a read-only snapshot of the unedited
propagation (`BaseLayers`, built by `LightGCN.prepare_inference` or per call).

`score_with_histories` and `refit_histories` propagate only the change an edit makes
(`EditedPropagation`, core.models.rescoring.lightgcn_region); `reference_scores` is the slow,
separately written full re-propagation the parity tests compare against. Node ids: users
0..U-1, items U..U+I-1.
"""

from __future__ import annotations

from collections.abc import Sequence

import dgl
import torch
from torch import Tensor

from core.models.layers import normalised_propagate, replace_node_edges, symmetric_norm
from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives
from core.models.rescoring.edits import RowEdits, history_edits
from core.models.rescoring.lightgcn_region import BaseLayers, EditedPropagation


class LightGCNRescorer:
    """Re-scoring for one LightGCN: its interaction graph, its unedited layers (read-only),
    its sizes and its L2 weight (the re-fit's)."""

    def __init__(
        self, graph: dgl.DGLGraph, base: BaseLayers, n_users: int, n_items: int, reg: float
    ) -> None:
        self.graph, self.base = graph, base
        self.n_users, self.n_items, self.reg = n_users, n_items, reg

    def edits(self, user: int, histories: Sequence[Tensor]) -> RowEdits:
        """RowEdits of B histories (item ids) of `user` on the interaction graph."""
        device = self.base.x0.device
        full = self.graph.successors(int(user))
        items = [h.to(device).long().view(-1) + self.n_users for h in histories]
        return history_edits(self.graph, int(user), full, items)

    @torch.no_grad()
    def score_with_histories(
        self,
        user: int,
        histories: Sequence[Tensor],
        items: Tensor,
        user_params: Tensor | None = None,
    ) -> Tensor:
        """Scores [B, C] of `items` after replacing the user's edges by each of B histories
        (item ids), exactly as re-propagating each edited graph (`reference_scores`), in one
        batched propagation of the change, on the rows it reaches (`EditedPropagation`).
        user_params: optional float [B, dim] layer-0 user embeddings."""
        prop = self.edited(user, histories, user_params)
        node = torch.tensor([int(user)], device=self.base.x0.device)
        return prop.scores(self._item_nodes(items), prop.finals(node)[0])

    def edited(
        self,
        user: int,
        histories: Sequence[Tensor],
        user_params: Tensor | None = None,
        gain: bool = False,
    ) -> EditedPropagation:
        """The B edited propagations of `histories` against the unedited layers."""
        edits = self.edits(user, histories)
        return EditedPropagation(self.graph, self.base, edits, user_params, gain)

    def _item_nodes(self, items: Tensor) -> Tensor:
        return items.to(self.base.x0.device).long() + self.n_users

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only re-scoring of one edited history (learned user embedding kept):
        `score_with_histories` with one column. Returns float [C]."""
        return self.score_with_histories(user, [history], items)[0]

    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's layer-0 embedding on each edited history, then score `items`.

        Propagation is linear, so in edited graph b every final embedding is
        F_b + G_b (x) e_u: F_b propagates the layer-0 table with the user's row zeroed and G_b
        a one-hot at the user (one propagation of the change with dim + 1 channels on the
        rows it reaches, `EditedPropagation(gain=True)`). The BPR loss of the user, including
        how the items' final embeddings move with e_u, is then exact and cheap in e_u, and so
        are the scores after the fit. Returns scores [B, C], params [B, dim].
        """
        u, weight = int(user), self.base.x0
        device, dim, b = weight.device, weight.shape[1], len(histories)
        prop = self.edited(u, histories, gain=True)
        full = self.graph.successors(u) - self.n_users
        hists = [h.to(device).long().view(-1) for h in histories]
        pos = torch.unique(torch.cat([full, *hists]))
        cand = torch.cat([pos, negatives(self.n_items, pos, u, config)]) + self.n_users
        user_row = prop.finals(torch.tensor([u], device=device))[0]  # [B, d + 1]
        base_u, gain_u = user_row[:, :dim], user_row[:, dim:]
        rows = prop.finals(cand)  # [M, B, d + 1]
        # the candidates' rows, column-major for batched products: s = c_base . v + c_gain (e . v)
        # with v = base_u + gain_u e, so the gradient has a closed form (no autograd graph)
        c_base = rows[..., :dim].transpose(0, 1).contiguous()  # [B, M, d]
        c_gain = rows[..., dim].T.contiguous()  # [B, M]
        reg = self.reg

        def objective(e: Tensor) -> tuple[Tensor, Tensor]:
            v = base_u + gain_u * e
            s = torch.bmm(c_base, v.unsqueeze(2)).squeeze(2) + c_gain * (e * v).sum(1, True)
            return s, reg * e.pow(2).sum(1) / 2

        def gradient(e: Tensor, d_scores: Tensor) -> Tensor:
            v = base_u + gain_u * e
            weight = (d_scores * c_gain).sum(1, True)  # [B, 1]
            through_base = torch.bmm(d_scores.unsqueeze(1), c_base).squeeze(1)  # [B, d]
            return gain_u * (through_base + weight * e) + weight * v + reg * e

        params = fit(
            weight[u].unsqueeze(0).repeat(b, 1),
            objective,
            history_mask(pos, hists),
            config,
            gradient,
        )
        v = base_u + gain_u * params  # the user's final embedding; an item's is r[:d] + r[d] e
        scores = prop.scores(self._item_nodes(items), torch.cat([v, (params * v).sum(1, True)], 1))
        return RefitResult(scores=scores, params=params)

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """Build the edited interaction graph from scratch and propagate every node through it
        (slow, independent of the batched path). user_params: optional float [dim]. [C]."""
        device = self.base.x0.device
        src, dst = self.graph.edges()
        hist = history.to(device).long().unique() + self.n_users
        src, dst, _ = replace_node_edges(src, dst, int(user), hist)
        edited = dgl.graph((src, dst), num_nodes=self.graph.num_nodes())
        norm = symmetric_norm(edited)
        layers = [self.base.x0.clone()]
        if user_params is not None:
            layers[0][int(user)] = user_params.to(layers[0])
        for _ in range(self.base.n_layers):
            layers.append(normalised_propagate(edited, layers[-1], norm))
        final = torch.stack(layers).mean(0)
        return final[items.to(device).long() + self.n_users] @ final[int(user)]
