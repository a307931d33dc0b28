"""KGAT's re-scoring of edited histories: `KGATRescorer`, over a read-only `KGATSnapshot` of the
unedited model (built by `KGAT.prepare_inference`, or per call); `KGAT` delegates to it.

An edit replaces the user's interaction edges (B edited histories at once, as `RowEdits`).
Attention logits of kept edges do not change (they depend on embeddings only); the softmax is
redone for the heads whose out-edges changed (the user and the added / removed items), and new
edges get logits from the current embeddings — what `refresh_attention` on the edited CKG gives.

Exact and incremental: only the nodes an edit can reach are recomputed. A node's layer-l output
differs from the unedited model's only if the node is an edited head, or was affected at layer
l - 1, or aggregates from such a node (one hop further per layer). Every other row is the stored
propagation's, and an affected row that is not an edited head gets the stored aggregation plus
the attention-weighted change of its changed in-neighbours. So re-scoring costs O(out-edges of
the edited region), not O(graph). `reference_scores` is the slow, separately written full
re-propagation the parity tests and the counterfactual check compare against.

Re-fit (`refit_histories`): with weightless linear layers and no per-layer normalisation (the
light layers, `is_affine`) every final embedding is affine in the user's layer-0 embedding
(one scalar coefficient per layer), so one incremental pass with one extra channel gives the
whole objective and every Adam step is a small batched product; other configurations run the
user's final embedding on the rows it needs and the user can reach (`rescoring.kgat_local`).
"""

from __future__ import annotations

from collections.abc import Sequence

import dgl
import torch
from torch import Tensor

from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives
from core.models.rescoring.edits import RowEdits, find_rows, history_edits
from core.models.rescoring.kgat_local import local_user
from core.models.rescoring.kgat_snapshot import KGATSnapshot


class KGATRescorer:
    """Re-scoring of edited histories over one `KGATSnapshot`; see the module docstring."""

    def __init__(self, snapshot: KGATSnapshot) -> None:
        self.s = snapshot

    def edits(self, user: int, histories: Sequence[Tensor]) -> tuple[RowEdits, Tensor]:
        """RowEdits on the aggregation graph (messages tail -> head) and the attention of each
        replacement edge per column, float [M, B], softmax-normalised over each edited head's
        out-edges in that column."""
        node = self.s.n_entities + int(user)
        device = self.s.src.device
        full = self.s.ckg.successors(node)
        items = [h.to(device).long().view(-1) for h in histories]
        edits = history_edits(self.s.agg, node, full, items)
        head, tail = edits.rows[edits.row], edits.src
        logits = torch.empty(len(head), device=device)
        known = edits.eid >= 0
        logits[known] = self.s.attention_logits[edits.eid[known]]
        if (~known).any():
            n_rel = self.s.n_relations
            rel = torch.where(head[~known] == node, n_rel - 2, n_rel - 1)
            logits[~known] = self.s.logits(head[~known], rel, tail[~known])
        top = logits.new_zeros(len(edits.rows))
        top = top.scatter_reduce(0, edits.row, logits, "amax", include_self=False)
        weight = torch.exp(logits - top[edits.row]).unsqueeze(1) * edits.mask
        total = weight.new_zeros(len(edits.rows), edits.n_columns).index_add_(0, edits.row, weight)
        return edits, weight / total[edits.row].clamp(min=1e-30)

    def is_affine(self) -> bool:
        """Whether every node's final embedding is affine in the user's layer-0 embedding with
        one scalar coefficient per layer: weightless linear layers (light) and no per-layer
        L2 normalisation. Then `delta(..., gain=True)` describes it exactly."""
        return self.s.config.aggregator == "light" and not self.s.config.normalize

    def delta(
        self, edits: RowEdits, attention: Tensor, user_x0: Tensor | None, gain: bool = False
    ) -> list[tuple[Tensor, Tensor]]:
        """Per layer 0..L: (affected rows int64 [A_l] sorted, their outputs float [A_l, B, c])
        in the B edited CKGs; every other row equals `_base_hidden()`. user_x0: optional
        [B, dim] layer-0 user embeddings (default: the learned one, unaffected at layer 0).

        Incremental: a row that is not an edited head keeps its in-edges and attention, so its
        new aggregation is the stored one plus, over its in-edges from rows that changed one
        layer below, attention * (new - old value); only the edited heads are aggregated anew
        from their replacement edges. The work is the out-edges of the changed rows.

        gain (affine configurations only, `is_affine`): the values carry one more channel,
        c = d_l + 1: the first d_l are the row's output with the user's layer-0 embedding set
        to zero, the last its coefficient, so the output with embedding e is v[:d] + v[d] * e
        (rows outside the region do not depend on e)."""
        hidden, aggs = self.s.hidden, self.s.aggs
        b, device = edits.n_columns, hidden[0].device
        node = edits.rows[:1]
        if gain and not self.is_affine():
            raise ValueError("the gain channel describes only affine KGAT configurations")

        def expand(x: Tensor) -> Tensor:  # [n, d] -> [n, B, c] (a new tensor)
            out = x.unsqueeze(1).expand(-1, b, -1)
            return torch.cat([out, out.new_zeros(len(x), b, 1)], 2) if gain else out.clone()

        if gain:
            x0 = hidden[0].new_zeros(1, b, hidden[0].shape[1] + 1)
            x0[..., -1] = 1
            layers = [(node, x0)]
        elif user_x0 is None:
            layers = [(node[:0], hidden[0].new_zeros(0, b, hidden[0].shape[1]))]
        else:
            layers = [(node, user_x0.unsqueeze(0).to(hidden[0]))]
        lookup = torch.full((len(hidden[0]),), -1, dtype=torch.long, device=device)
        for depth, layer in enumerate(self.s.layers):
            prev_rows, prev_vals = layers[-1]
            lookup[:] = -1
            lookup[prev_rows] = torch.arange(len(prev_rows), device=device)

            def value(nodes: Tensor, h=hidden[depth], vals=prev_vals) -> Tensor:
                out = expand(h[nodes])
                pos = lookup[nodes]
                hit = pos >= 0
                out[hit] = vals[pos[hit]]
                return out

            src, readers, eid = self.s.agg.out_edges(prev_rows, form="all")
            rows = torch.unique(torch.cat([edits.rows, prev_rows, readers]))
            agg = expand(aggs[depth][rows])
            if len(src):
                change = prev_vals - expand(hidden[depth][prev_rows])
                msgs = change[lookup[src]] * self.s.attention[eid].view(-1, 1, 1)
                agg.index_add_(0, torch.searchsorted(rows, readers), msgs)
            edited = edits.aggregate_values(value(edits.src), attention)  # [R, B, c]
            agg[torch.searchsorted(rows, edits.rows)] = edited
            layers.append((rows, layer(value(rows), agg)))
        return layers

    def final_parts(
        self, nodes: Tensor, delta: list[tuple[Tensor, Tensor]], b: int
    ) -> list[Tensor]:
        """Layer outputs [x0, out1, ..., outL] of `nodes` in each of the B edited CKGs, each
        float [len(nodes), B, c] (c as in `delta`)."""
        hidden = self.s.hidden
        gain = delta[0][1].shape[2] == hidden[0].shape[1] + 1
        parts = []
        for depth, (rows, vals) in enumerate(delta):
            h = hidden[depth][nodes].unsqueeze(1).expand(-1, b, -1)
            h = torch.cat([h, h.new_zeros(len(nodes), b, 1)], 2) if gain else h.clone()
            hit, pos = find_rows(rows, nodes)
            h[hit] = vals[pos[hit]]
            parts.append(h if depth == 0 else self.s.layer_out(h))
        return parts

    def finals(self, nodes: Tensor, delta: list[tuple[Tensor, Tensor]], b: int) -> Tensor:
        """Final embeddings of `nodes` in each of the B edited CKGs. float [len(nodes), B, D]."""
        return self.s.combine(self.final_parts(nodes, delta, b))

    def at(self, parts: list[Tensor], e: Tensor) -> Tensor:
        """Final embeddings from gain-channel parts (`delta(gain=True)`) with the user's
        layer-0 embedding e float [B, dim]. Returns float [n, B, D]."""
        return self.s.combine([p[..., :-1] + p[..., -1:] * e for p in parts])

    def delta_scores(
        self,
        node: int,
        delta: list[tuple[Tensor, Tensor]],
        items: Tensor,
        b: int,
        e: Tensor | None = None,
    ) -> Tensor:
        """Scores [B, C] of `items` for the user node from a `delta` (a gain-channel one
        evaluated at user embeddings e [B, dim])."""

        def finals(nodes: Tensor) -> Tensor:
            parts = self.final_parts(nodes, delta, b)
            return self.s.combine(parts) if e is None else self.at(parts, e)

        user = finals(torch.tensor([node], device=items.device))[0]  # [B, D]
        scores = (self.s.final[items] @ user.T).T.contiguous()  # unaffected rows
        affected = torch.isin(items, delta[-1][0])
        if affected.any():
            rows = finals(items[affected])  # [A, B, D]
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
        node = self.s.n_entities + int(user)
        edits, attention = self.edits(user, histories)
        delta = self.delta(edits, attention, user_params)
        return self.delta_scores(node, delta, items.to(self.s.src.device).long(), len(histories))

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only re-scoring of one edited history (learned user embedding kept)."""
        return self.score_with_histories(user, [history], items)[0]

    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's layer-0 embedding on each edited history, then re-score.

        The fit's loss uses the user's exact final embedding in each edited CKG as a function
        of its layer-0 embedding, against the items' final embeddings of that edited CKG with
        the learned user embedding (how much an item's embedding moves with this one user's is
        left out of the fit, as the CF phase leaves the attention fixed); the returned scores
        come from an exact re-scoring with the fitted embeddings.

        Affine configurations (`is_affine`, light layers) take one gain-channel `delta`:
        the user's final embedding is f_b + alpha_b (x) e, so each Adam step is a product of
        [B, candidates, D] and no graph work. The others (bi-interaction, normalised layers)
        propagate the user's local region on every step (`kgat_local.local_user`); both give
        the same numbers as the region-free fit (tests/models/test_kgat_refit.py).
        Returns scores [B, C] and params [B, dim].
        """
        if self.is_affine():
            return self.refit_affine(user, histories, items, config)
        return self.refit_general(user, histories, items, config)

    def candidates(
        self, user: int, histories: Sequence[Tensor], config: RefitConfig
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """(the union of the histories and the full one, int64 [P]; those then the negatives,
        int64 [P + N]; the histories on the model's device)."""
        device = self.s.x0.device
        full = self.s.ckg.successors(self.s.n_entities + int(user))
        hists = [h.to(device).long().view(-1) for h in histories]
        pos = torch.unique(torch.cat([full, *hists]))
        return pos, torch.cat([pos, negatives(self.s.n_items, pos, int(user), config)]), hists

    def refit_affine(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        node, b = self.s.n_entities + int(user), len(histories)
        edits, attention = self.edits(user, histories)
        delta = self.delta(edits, attention, None, gain=True)
        learned = self.s.x0[node].detach().unsqueeze(0).repeat(b, 1)
        pos, cand, hists = self.candidates(user, histories, config)
        cand_final = self.at(self.final_parts(cand, delta, b), learned)  # [M, B, D]
        one = torch.tensor([node], device=learned.device)
        user_parts = [p[0] for p in self.final_parts(one, delta, b)]  # [B, c] per layer
        mask = history_mask(pos, hists)
        if self.s.config.combine != "mean":

            def objective(e: Tensor) -> tuple[Tensor, Tensor]:
                user_final = self.at(user_parts, e)
                reg = self.s.config.reg * user_final.pow(2).sum(1) / 2
                return torch.einsum("mbd,bd->bm", cand_final, user_final), reg

            params = fit(learned, objective, mask, config)
        else:  # user_final(e) = f + alpha * e, alpha a scalar per column: closed-form gradient
            stacked = torch.stack(user_parts).mean(0)
            f, alpha = stacked[:, :-1], stacked[:, -1:]  # [B, D], [B, 1]
            cand_t = cand_final.transpose(0, 1).contiguous()  # [B, M, D]
            offset = torch.bmm(cand_t, f.unsqueeze(2)).squeeze(2)  # [B, M]
            reg = self.s.config.reg

            def objective(e: Tensor) -> tuple[Tensor, Tensor]:
                s = offset + alpha * torch.bmm(cand_t, e.unsqueeze(2)).squeeze(2)
                return s, reg * (f + alpha * e).pow(2).sum(1) / 2

            def gradient(e: Tensor, d_scores: Tensor) -> Tensor:
                through = torch.bmm(d_scores.unsqueeze(1), cand_t).squeeze(1)  # [B, D]
                return alpha * (through + reg * (f + alpha * e))

            params = fit(learned, objective, mask, config, gradient)
        scores = self.delta_scores(node, delta, items.to(learned.device).long(), b, params)
        return RefitResult(scores, params)

    def refit_general(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        node, b = self.s.n_entities + int(user), len(histories)
        edits, attention = self.edits(user, histories)
        learned = self.delta(edits, attention, None)
        pos, cand, hists = self.candidates(user, histories, config)
        cand_final = self.finals(cand, learned, b)  # [M, B, D]
        local = local_user(self.s, edits, attention, learned)

        def objective(e: Tensor) -> tuple[Tensor, Tensor]:
            user_final = local(e)
            reg = self.s.config.reg * user_final.pow(2).sum(1) / 2
            return torch.einsum("mbd,bd->bm", cand_final, user_final), reg

        params = fit(
            self.s.x0[node].detach().unsqueeze(0).repeat(b, 1),
            objective,
            history_mask(pos, hists),
            config,
        )
        delta = self.delta(edits, attention, params)
        scores = self.delta_scores(node, delta, items.to(params.device).long(), b)
        return RefitResult(scores, params)

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """Build the edited CKG from scratch (kept edges keep their stored logits, new user-item
        edges get logits from the current embeddings), redo the softmax with DGL and propagate
        every node (slow, independent of the batched path). user_params: float [dim]. [C]."""
        node = self.s.n_entities + int(user)
        hist = history.to(self.s.src.device).long().unique()
        keep = (self.s.src != node) & (self.s.dst != node)
        own = torch.full_like(hist, node)
        n_rel = self.s.n_relations
        src = torch.cat([self.s.src[keep], own, hist])
        dst = torch.cat([self.s.dst[keep], hist, own])
        rel = torch.cat(
            [self.s.rel[keep], torch.full_like(hist, n_rel - 2), torch.full_like(hist, n_rel - 1)]
        )
        new = slice(int(keep.sum()), None)
        logits = torch.cat(
            [self.s.attention_logits[keep], self.s.logits(src[new], rel[new], dst[new])]
        )
        agg = dgl.graph((dst, src), num_nodes=self.s.ckg.num_nodes())
        attention = dgl.ops.edge_softmax(agg, logits)
        x0 = self.s.x0.clone()
        if user_params is not None:
            x0[node] = user_params.to(x0)
        final = self.s.combine(self.s.propagate(agg, x0, attention, dropout=False))
        return final[items.to(x0.device).long()] @ final[node]
