"""KGAT's re-scoring of edited histories (mixed into `core.models.kgat.KGAT`).

An edit replaces the user's interaction edges (B edited histories at once, as `RowEdits`).
Attention logits of kept edges do not change (they depend on embeddings only); the softmax is
redone for the heads whose out-edges changed (the user and the added / removed items), and new
edges get logits from the current embeddings — what `refresh_attention` on the edited CKG gives.

Exact and incremental: only the nodes an edit can reach are recomputed. A node's layer-l output
differs from the unedited model's only if the node is an edited head, or was affected at layer
l - 1, or aggregates from such a node (one hop further per layer). Every other row is the stored
propagation's. So re-scoring costs O(edited region), not O(graph): for a one-layer KGAT only
the user and the edited items are recomputed. `reference_scores` is the slow, separately
written full re-propagation the parity tests and the counterfactual check compare against.
"""

from __future__ import annotations

from collections.abc import Sequence

import dgl
import torch
from torch import Tensor

from core.models.layers import RowEdits, history_edits
from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives


class KGATRescoring:
    """Re-scoring methods of KGAT; see the module docstring."""

    def _edits(self, user: int, histories: Sequence[Tensor]) -> tuple[RowEdits, Tensor]:
        """RowEdits on the aggregation graph (messages tail -> head) and the attention of each
        replacement edge per column, float [M, B], softmax-normalised over each edited head's
        out-edges in that column."""
        node = self.n_entities + int(user)
        device = self._src.device
        full = self._ckg.successors(node)
        items = [h.to(device).long().view(-1) for h in histories]
        edits = history_edits(self._agg, node, full, items)
        head, tail = edits.rows[edits.row], edits.src
        logits = torch.empty(len(head), device=device)
        known = edits.eid >= 0
        logits[known] = self.attention_logits[edits.eid[known]]
        if (~known).any():
            n_rel = len(self.relation_names)
            rel = torch.where(head[~known] == node, n_rel - 2, n_rel - 1)
            logits[~known] = self._attention_logits(head[~known], rel, tail[~known])
        top = logits.new_zeros(len(edits.rows))
        top = top.scatter_reduce(0, edits.row, logits, "amax", include_self=False)
        weight = torch.exp(logits - top[edits.row]).unsqueeze(1) * edits.mask
        total = weight.new_zeros(len(edits.rows), edits.n_columns).index_add_(0, edits.row, weight)
        return edits, weight / total[edits.row].clamp(min=1e-30)

    def _base_hidden(self) -> list[Tensor]:
        """Unnormalised layer outputs [x0, h1, ..., hL] of the unedited CKG, float [N, d_l]."""
        if self._hidden_cache is not None:
            return self._hidden_cache
        with torch.no_grad():
            full = self._attended()[0]
            return self._hidden(full, self.node.weight.detach(), False, len(self.layers))

    def _delta(
        self, edits: RowEdits, attention: Tensor, user_x0: Tensor | None
    ) -> list[tuple[Tensor, Tensor]]:
        """Per layer 0..L: (affected rows int64 [A_l], their outputs float [A_l, B, d_l]) in the
        B edited CKGs; every other row equals `_base_hidden()`. user_x0: optional [B, dim]
        layer-0 user embeddings (default: the learned one, unaffected at layer 0)."""
        base, b = self._base_hidden(), edits.n_columns
        device = base[0].device
        node = edits.rows[:1]
        if user_x0 is None:
            layers = [(node[:0], base[0].new_zeros(0, b, base[0].shape[1]))]
        else:
            layers = [(node, user_x0.unsqueeze(0).to(base[0]))]
        lookup = torch.full((len(base[0]),), -1, dtype=torch.long, device=device)
        for depth, layer in enumerate(self.layers):
            prev_rows, prev_vals = layers[-1]
            lookup[:] = -1
            lookup[prev_rows] = torch.arange(len(prev_rows), device=device)

            def value(nodes: Tensor, h=base[depth], vals=prev_vals) -> Tensor:
                out = h[nodes].unsqueeze(1).expand(-1, b, -1).clone()
                pos = lookup[nodes]
                hit = pos >= 0
                out[hit] = vals[pos[hit]]
                return out

            readers = self._agg.out_edges(prev_rows)[1] if len(prev_rows) else prev_rows
            rows = torch.unique(torch.cat([edits.rows, prev_rows, readers]))
            is_edited = torch.isin(rows, edits.rows)
            plain = rows[~is_edited]
            src, dst, eid = self._agg.in_edges(plain, form="all")
            msgs = value(src) * self.attention[eid].view(-1, 1, 1)
            slot = torch.searchsorted(rows, dst)
            agg = msgs.new_zeros(len(rows), b, msgs.shape[2]).index_add_(0, slot, msgs)
            edited = edits.aggregate_values(value(edits.src), attention)  # [R, B, d]
            agg[torch.searchsorted(rows, edits.rows)] = edited
            layers.append((rows, layer(value(rows), agg)))
        return layers

    def _finals(self, nodes: Tensor, delta: list[tuple[Tensor, Tensor]], b: int) -> Tensor:
        """Final (concatenated, layers >= 1 normalised) embeddings of `nodes` in each of the B
        edited CKGs. Returns float [len(nodes), B, D]."""
        base = self._base_hidden()
        parts = []
        for depth, (rows, vals) in enumerate(delta):
            h = base[depth][nodes].unsqueeze(1).expand(-1, b, -1).clone()
            pos = torch.searchsorted(rows, nodes).clamp(max=max(len(rows) - 1, 0))
            hit = (rows[pos] == nodes) if len(rows) else torch.zeros_like(nodes, dtype=torch.bool)
            h[hit] = vals[pos[hit]]
            parts.append(h if depth == 0 else self._layer_out(h))
        return self.combine(parts)

    def _delta_scores(
        self, node: int, delta: list[tuple[Tensor, Tensor]], items: Tensor, b: int
    ) -> Tensor:
        """Scores [B, C] of `items` for the user node from a `_delta`."""
        user = self._finals(torch.tensor([node], device=items.device), delta, b)[0]  # [B, D]
        scores = (self._inference_embeddings()[items] @ user.T).T.contiguous()  # unaffected rows
        affected = torch.isin(items, delta[-1][0])
        if affected.any():
            rows = self._finals(items[affected], delta, b)  # [A, B, D]
            scores[:, affected] = torch.einsum("abd,bd->ba", rows, user)
        return scores

    @torch.no_grad()
    def score_with_histories(
        self,
        user: int,
        histories: Sequence[Tensor],
        items: Tensor,
        user_params: Tensor | None = None,
    ) -> Tensor:
        """Scores [B, C] of `items` with the user's interaction edges replaced by each of B
        histories, exactly as propagating each edited CKG (`reference_scores`), recomputing
        only the region the edits reach. user_params: optional float [B, dim] layer-0 user
        embeddings."""
        node = self.n_entities + int(user)
        edits, attention = self._edits(user, histories)
        delta = self._delta(edits, attention, user_params)
        return self._delta_scores(node, delta, items.to(self._src.device).long(), len(histories))

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only re-scoring of one edited history (learned user embedding kept)."""
        return self.score_with_histories(user, [history], items)[0]

    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's layer-0 embedding on each edited history, then re-score.

        The fit's loss uses the user's exact final embedding in each edited CKG, computed on
        the user's L-hop neighbourhood, against the items' final embeddings of that edited CKG
        with the learned user embedding (how much an item's embedding moves with this one
        user's is left out of the fit, as the CF phase leaves the attention fixed); the
        returned scores come from an exact re-scoring with the fitted embeddings.
        Returns scores [B, C] and params [B, dim].
        """
        node, device, b = self.n_entities + int(user), self.node.weight.device, len(histories)
        edits, attention = self._edits(user, histories)
        learned = self._delta(edits, attention, None)
        full = self._ckg.successors(node)
        hists = [h.to(device).long().view(-1) for h in histories]
        pos = torch.unique(torch.cat([full, *hists]))
        cand = torch.cat([pos, negatives(self.n_items, pos, int(user), config)])
        cand_final = self._finals(cand, learned, b)  # [M, B, D]
        local = self._local_user(node, edits, attention)

        def objective(e: Tensor) -> tuple[Tensor, Tensor]:
            user_final = local(e)
            reg = self.config.reg * user_final.pow(2).sum(1) / 2
            return torch.einsum("mbd,bd->bm", cand_final, user_final), reg

        params = fit(
            self.node.weight[node].unsqueeze(0).repeat(b, 1),
            objective,
            history_mask(pos, hists),
            config,
        )
        delta = self._delta(edits, attention, params)
        scores = self._delta_scores(node, delta, items.to(device).long(), b)
        return RefitResult(scores, params)

    def _local_user(self, node: int, edits: RowEdits, attention: Tensor):
        """A function e [B, dim] -> the user's final embedding [B, D] in each edited CKG, with
        its layer-0 embedding set to e, computed on the L-hop in-neighbourhood only (the nodes
        the user's embedding can read; edited heads get their replacement edges)."""
        n_layers = len(self.layers)
        # the region the user's embedding reads: its L-hop in-neighbourhood in the CKG, plus
        # the L-1-hop ones of items an edit adds to its history (reached only through the edit)
        own = edits.src[edits.row == 0]
        added = own[edits.eid[edits.row == 0] < 0]
        nodes = dgl.khop_in_subgraph(self._agg, node, n_layers)[0].ndata[dgl.NID]
        if len(added) and n_layers > 1:
            extra = dgl.khop_in_subgraph(self._agg, added, n_layers - 1)[0].ndata[dgl.NID]
            nodes = torch.cat([nodes, extra])
        nodes = torch.unique(torch.cat([nodes, own]))
        index = torch.full((self._ckg.num_nodes(),), -1, dtype=torch.long, device=nodes.device)
        index[nodes] = torch.arange(len(nodes), device=nodes.device)
        inner = dgl.node_subgraph(self._agg, nodes)  # induced: every edge among the nodes
        edited = index[edits.rows]
        replaced = torch.zeros(len(nodes), dtype=torch.bool, device=nodes.device)
        replaced[edited] = True
        tail, head = inner.edges()
        keep = ~replaced[head]  # edited heads take their replacement edges instead
        att = self.attention[inner.edata[dgl.EID][keep]].unsqueeze(1)
        src_idx = index[edits.src]
        inside = src_idx >= 0  # replacement edges from outside only feed rows the user cannot read
        r_src, r_dst, r_att = src_idx[inside], edited[edits.row[inside]], attention[inside]
        b = attention.shape[1]
        m_src = torch.cat([tail[keep], r_src])
        m_dst = torch.cat([head[keep], r_dst])
        m_att = torch.cat([att.expand(-1, b), r_att])  # [M', B]
        position = int(index[node])
        base = self.node.weight[nodes].unsqueeze(1).expand(-1, b, -1)

        def user_final(e: Tensor) -> Tensor:
            x = base.clone()
            x[position] = e
            layers = [x]
            for layer in self.layers:
                h = layers[-1]
                msgs = h[m_src] * m_att.unsqueeze(2)
                agg = h.new_zeros(h.shape).index_add(0, m_dst, msgs)
                layers.append(layer(h, agg))
            outs = [layers[0][position]] + [self._layer_out(h[position]) for h in layers[1:]]
            return self.combine(outs)

        return user_final

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """Build the edited CKG from scratch (kept edges keep their stored logits, new user-item
        edges get logits from the current embeddings), redo the softmax with DGL and propagate
        every node (slow, independent of the batched path). user_params: float [dim]. [C]."""
        node = self.n_entities + int(user)
        hist = history.to(self._src.device).long().unique()
        keep = (self._src != node) & (self._dst != node)
        own = torch.full_like(hist, node)
        n_rel = len(self.relation_names)
        src = torch.cat([self._src[keep], own, hist])
        dst = torch.cat([self._dst[keep], hist, own])
        rel = torch.cat(
            [self._rel[keep], torch.full_like(hist, n_rel - 2), torch.full_like(hist, n_rel - 1)]
        )
        new = slice(int(keep.sum()), None)
        logits = torch.cat(
            [self.attention_logits[keep], self._attention_logits(src[new], rel[new], dst[new])]
        )
        agg = dgl.graph((dst, src), num_nodes=self._ckg.num_nodes())
        attention = dgl.ops.edge_softmax(agg, logits)
        x0 = self.node.weight.clone()
        if user_params is not None:
            x0[node] = user_params.to(x0)
        final = self.combine(self._propagate(agg, x0, attention, dropout=False))
        return final[items.to(x0.device).long()] @ final[node]
