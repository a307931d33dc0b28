"""KGAT: Knowledge Graph Attention Network (Wang et al., KDD 2019) in DGL.

Over the collaborative KG (`core.graph.collaborative_kg`: entities then users, relations with
inverses and "interacted"), with an edge src -> dst read as the triple (h=src, r, t=dst):
- TransR embedding loss on CKG triples (eq. 1-2), via `TranslationalScorer`.
- Knowledge-aware attention pi(h, r, t) = (W_r e_t)^T tanh(W_r e_h + e_r) (eq. 4), softmax over
  the triples of each head h (eq. 5). It is computed by `refresh_attention()` and kept in a buffer:
  the CF phase treats it as a constant, as the paper's alternating optimisation does.
- Aggregator (`KGATConfig.aggregator`, `core.models.kgat_layers`) over e_Nh = sum_t pi(h, r, t)
  e_t: the paper's bi-interaction (eq. 8), LeakyReLU(W1 (e_h + e_Nh)) + LeakyReLU(W2 (e_h *
  e_Nh)) (the default), or "light" (the bundled sample's): e_Nh itself, no weights. Message
  dropout; the layers are concatenated (eq. 11, each L2-normalised; the default) or averaged;
  score = dot product (eq. 12); BPR loss (eq. 13). The paper's configuration is `PAPER`.
- Alternating optimisation: the trainer's optimiser runs the CF phase (`loss`); `on_epoch_end`
  runs one KG phase, with the model's own Adam (as the official code: the trainer's knows only
  the CF loss, whose moments a second objective would skew), and refreshes the attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import dgl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.graph import ckg_relation_names, collaborative_kg
from core.models.base import ModelInputs, Recommender, draw_
from core.models.kgat_attention import all_logits, group_by_relation, triple_logits
from core.models.kgat_config import KGATConfig
from core.models.kgat_layers import (
    CSRAggregation,
    CSRPattern,
    MaskedScale,
    aggregator,
    cf_block,
)
from core.models.refit import RefitConfig, RefitResult
from core.models.rescoring.edits import find_rows
from core.models.rescoring.kgat import KGATRescorer
from core.models.rescoring.kgat_local import local_layers
from core.models.rescoring.kgat_snapshot import KGATSnapshot
from core.models.transr import TranslationalScorer, run_kg_epoch


class KGAT(Recommender):
    """KGAT over a fixed collaborative KG (kept on the model's device, never modified)."""

    name = "kgat"
    config_cls = KGATConfig
    default_lr: ClassVar[float] = 1e-3  # the default's and the paper's; light layers want 5e-3

    @classmethod
    def build(cls, inputs: ModelInputs, config: KGATConfig, device: torch.device) -> KGAT:
        g = collaborative_kg(
            inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
        )
        model = cls(inputs, g, config).to(device)
        model.refresh_attention()  # the first CF epoch attends with the initial embeddings
        return model

    def __init__(self, inputs: ModelInputs, ckg: dgl.DGLGraph, config: KGATConfig):
        super().__init__(inputs.n_users, inputs.n_items)
        self.config = config
        self.n_entities = inputs.n_entities
        self.relation_names = tuple(ckg_relation_names(inputs.relation_names))
        self.node = nn.Embedding(ckg.num_nodes(), config.dim)
        nn.init.xavier_uniform_(self.node.weight)
        self.scorer = TranslationalScorer(
            len(self.relation_names), config.dim, config.relation_dim, projection=True
        )
        pairs = zip((config.dim, *config.layer_dims[:-1]), config.layer_dims, strict=True)
        self.layers = nn.ModuleList(
            aggregator(config.aggregator, a, b, config.negative_slope) for a, b in pairs
        )
        self._set_graph(ckg)
        self.register_buffer("attention", torch.zeros(ckg.num_edges()))
        self.register_buffer("attention_logits", torch.zeros(ckg.num_edges()))
        self._final: Tensor | None = None  # set only by prepare_inference
        # likewise: unnormalised layer outputs and aggregations (`_rescoring_cache`)
        self._hidden_cache: tuple[list[Tensor], list[Tensor]] | None = None
        self._fixed: tuple | None = None  # (attention version, full, cf) CSRAggregations
        self._dropout_gen: torch.Generator | None = None  # set by on_train_begin
        self._kg_optimiser: torch.optim.Optimizer | None = None  # see kg_optimiser

    @property
    def kg_optimiser(self) -> torch.optim.Optimizer:
        """The KG phase's own Adam, built at first use (the first one imports torch._dynamo)."""
        if self._kg_optimiser is None:
            self._kg_optimiser = torch.optim.Adam(self.parameters(), lr=self.config.kg_lr)
        return self._kg_optimiser

    def init_weights(self, generator: torch.Generator) -> None:
        draw_(self.node.weight, nn.init.xavier_uniform_, generator)
        self.scorer.init_weights(generator)
        for layer in self.layers:
            layer.init_weights(generator)
        self.refresh_attention()  # the first CF epoch attends with the new embeddings

    def on_train_begin(self, generator: torch.Generator) -> None:
        """Seed the message-dropout generator (on the model's device) from the run's."""
        seed = int(torch.randint(2**62, (1,), generator=generator))
        device = self.node.weight.device
        self._dropout_gen = torch.Generator(device=device).manual_seed(seed)

    def _dropout(self, h: Tensor, active: bool) -> Tensor:
        """Message dropout drawn from the run's generator (`on_train_begin`), not torch's
        global one, so concurrent work in the process cannot change a training run."""
        p, gen = self.config.mess_dropout, self._dropout_gen
        if not active or p == 0:
            return h
        if gen is None:  # trained without `fit` (a test driving `loss` directly)
            return F.dropout(h, p, training=True)
        # the same draw, mask and arithmetic as `h * (rand >= p) / (1 - p)`, with the mask made
        # in place as 0/1 floats: no bool tensor, no bool -> float copy in forward and backward
        keep = torch.rand(h.shape, generator=gen, device=h.device).ge_(p)
        return MaskedScale.apply(h, keep, 1 - p)

    def _set_graph(self, ckg: dgl.DGLGraph) -> None:
        self._ckg = ckg
        self._logit_plan: list[tuple] | None = None  # built by the first attention refresh
        self._agg = dgl.reverse(ckg)  # same edge ids; messages flow tail -> head
        self._src, self._dst = ckg.edges()
        self._rel = ckg.edata["rel"]
        triples = torch.stack([self._src, self._rel, self._dst], 1).cpu()
        if self.config.kg_triples == "kg":  # relations 0..R-1 are the KG's own directions
            triples = triples[triples[:, 1] < (len(self.relation_names) - 2) // 2]
        self._kg_triples = triples  # CPU, sampled from by the KG phase
        self._cf_eids, self._cf_nodes, self._cf_block = cf_block(
            self._src, self._dst, self.n_items, self.n_entities, ckg.num_nodes()
        )
        # the CSR layouts of the attended products, which each attention refresh refills
        n = ckg.num_nodes()
        self._patterns = (
            CSRPattern(self._dst, self._src, n, n),  # messages flow tail -> head
            CSRPattern(*self._cf_block.edges(), n, len(self._cf_nodes)),
        )

    def _apply(self, fn, *args, **kwargs):  # keep the graph on the parameters' device
        super()._apply(fn, *args, **kwargs)
        self._set_graph(self._ckg.to(self.node.weight.device))
        self._final = self._hidden_cache = self._fixed = None
        return self

    def _attended(self) -> tuple[CSRAggregation, CSRAggregation]:
        """Aggregations with the stored attention over the whole CKG and over the CF block,
        rebuilt whenever the attention buffer changes (refresh, load_state_dict, device)."""
        att = self.attention
        version = (att._version, att.data_ptr(), str(att.device))
        if self._fixed is None or self._fixed[0] != version:
            full_pattern, cf_pattern = self._patterns
            full = full_pattern.with_weights(att)
            cf = cf_pattern.with_weights(att[self._cf_eids])
            self._fixed = (version, full, cf)
        return self._fixed[1], self._fixed[2]

    # --- graph and attention ----------------------------------------------------------------
    @property
    def ckg(self) -> dgl.DGLGraph:
        """The collaborative KG; `edge_attention()` and `relation_names` index its edges."""
        return self._ckg

    def _attention_logits(self, src: Tensor, rel: Tensor, dst: Tensor) -> Tensor:
        """pi(h, r, t) (eq. 4) for triples given as int64 [M] each. Returns float [M]."""
        proj, rel_emb = self.scorer.projection, self.scorer.relation.weight
        return triple_logits(self.node.weight, proj, rel_emb, src, rel, dst)

    def _all_attention_logits(self) -> Tensor:
        """`_attention_logits` of every CKG edge, float [E] (`all_logits`)."""
        if self._logit_plan is None:
            self._logit_plan = group_by_relation(self._src, self._rel, self._dst)
        proj, rel_emb = self.scorer.projection, self.scorer.relation.weight
        return all_logits(self.node.weight, proj, rel_emb, self._logit_plan, len(self._rel))

    @torch.no_grad()
    def refresh_attention(self) -> None:
        """Recompute pi over every CKG edge from the current embeddings and store it."""
        logits = self._all_attention_logits()
        self.attention_logits.copy_(logits)
        self.attention.copy_(dgl.ops.edge_softmax(self._agg, logits))

    def edge_attention(self) -> Tensor:
        """pi(h, r, t) of every `ckg` edge h -> t (sums to one over each head's out-edges;
        relation: relation_names[ckg.edata["rel"][e]]). Returns float [E] (a copy)."""
        return self.attention.detach().clone()

    # --- propagation ------------------------------------------------------------------------
    def _hidden(
        self,
        aggregate,
        x0: Tensor,
        dropout: bool,
        n_layers: int,
        aggregations: list[Tensor] | None = None,
    ) -> list[Tensor]:
        """Unnormalised outputs [x0, h1, ..., h_n] of the first n layers; `aggregate(h)` is
        e_Nh for every node: sum over its triples (h, r, t) of pi(h, r, t) * h[t]. Each
        layer's e_Nh is also appended to `aggregations` when one is given."""
        hidden = [x0]
        for layer in self.layers[:n_layers]:
            neigh = aggregate(hidden[-1])
            if aggregations is not None:
                aggregations.append(neigh)
            h = layer(hidden[-1], neigh)
            hidden.append(self._dropout(h, dropout))
        return hidden

    def _propagate(
        self, agg: dgl.DGLGraph, x0: Tensor, attention: Tensor | None, dropout: bool
    ) -> list[Tensor]:
        """Layer outputs [x0, norm(h1), ..., norm(hL)] of every node of `agg`, attending with
        `attention` over its edges (None: the stored attention over the whole CKG)."""
        if attention is None:
            aggregate = self._attended()[0]
        else:
            weights = attention.unsqueeze(1)
            aggregate = lambda h: dgl.ops.u_mul_e_sum(agg, h, weights)  # noqa: E731
        hidden = self._hidden(aggregate, x0, dropout, len(self.layers))
        return [x0] + [self._layer_out(h) for h in hidden[1:]]

    def _cf_final(self, dropout: bool) -> Tensor:
        """Final embeddings of items then users, float [I + U, D]: `_propagate` with the last
        layer computed for those nodes only, on the CF block (same values, fewer rows)."""
        cf = self._cf_nodes
        full, cf_block = self._attended()
        x, outputs, n_layers = self.node.weight, [], len(self.layers)
        for i, layer in enumerate(self.layers):
            aggregate = full if i < n_layers - 1 else cf_block  # the last layer: CF rows only
            # e_Nh of every row (of the CF rows, last layer) and x's own CF rows, in one node
            neigh, x_cf = aggregate.with_rows(x, cf)
            outputs.append(x_cf if i == 0 else self._layer_out(x_cf))
            x = self._dropout(layer(x if i < n_layers - 1 else x_cf, neigh), dropout)
        return self.combine(outputs + [self._layer_out(x)])

    def _layer_out(self, h: Tensor) -> Tensor:
        """A layer's share of the final embedding: L2-normalised (eq. 11) unless not `normalize`."""
        return F.normalize(h, dim=-1) if self.config.normalize else h

    def combine(self, parts: list[Tensor]) -> Tensor:
        """The final embedding from the layer outputs [x0, out1, ..., outL] (each [..., d_l]):
        concatenated along the last dim (eq. 11) or their mean (`config.combine`)."""
        if self.config.combine == "mean":  # = torch.stack(parts).mean(0), bit for bit (a sum,
            out = parts[0] + parts[1] if len(parts) > 1 else parts[0].clone()  # then a division)
            for part in parts[2:]:  # without the [L + 1, N, d] stacked copy: ~3x less time
                out = out.add_(part)
            return out.div_(len(parts))
        return torch.cat(parts, -1)

    def layer_embeddings(self) -> list[Tensor]:
        """Per-layer embeddings of every CKG node (entities, then users), no dropout:
        [float [N, dim], float [N, layer_dims[0]], ...]."""
        with torch.no_grad():
            x0 = self.node.weight.detach()
            return self._propagate(self._agg, x0, None, dropout=False)

    def _inference_embeddings(self) -> Tensor:
        if self._final is not None:
            return self._final
        return self.combine(self.layer_embeddings())

    # --- training ---------------------------------------------------------------------------
    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """CF phase: BPR on final embeddings plus L2. users, pos, neg: int64 [B]. Scalar."""
        final = self._cf_final(self.training)  # items then users
        u, p, n = final[users + self.n_items], final[pos], final[neg]
        bpr = -F.logsigmoid((u * p).sum(1) - (u * n).sum(1)).mean()
        l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / 2
        return bpr + self.config.reg * l2 / len(users)

    def kg_loss(self, h: Tensor, r: Tensor, t: Tensor, t_neg: Tensor) -> Tensor:
        """TransR loss (eq. 2) on CKG triples; int64 [B] node and relation ids. Scalar."""
        # one lookup for all three: a single dense embedding gradient instead of three
        emb = self.node(torch.cat([h, t, t_neg])).view(3, len(h), -1)
        return self.scorer.pairwise_loss(emb[0], r, emb[1], emb[2], self.config.kg_reg)

    def on_epoch_end(self, epoch: int, generator: torch.Generator) -> dict[str, float]:
        """KG phase (one pass over the TransR triples), then the attention refresh."""
        loss = run_kg_epoch(
            self.kg_loss,
            self._kg_triples,
            self._ckg.num_nodes(),
            self.config.kg_batch_size,
            self.kg_optimiser,
            generator,
        )
        self.refresh_attention()
        return {"kg_loss": loss}

    def train(self, mode: bool = True) -> KGAT:
        if mode:  # parameters may change again: drop the inference cache
            self._final = self._hidden_cache = None
        return super().train(mode)

    # --- inference --------------------------------------------------------------------------
    def prepare_inference(self) -> None:
        """Build every cache inference reads now: a shared model is only ever read afterwards."""
        with torch.no_grad():
            # one propagation gives the re-scoring cache (`_rescoring_cache`'s layer outputs and
            # aggregations, without aggregating each layer's input a second time) and the final
            # embeddings (`layer_embeddings` would propagate again)
            aggregations: list[Tensor] = []
            x0 = self.node.weight.detach()
            hidden = self._hidden(self._attended()[0], x0, False, len(self.layers), aggregations)
            light = self.config.aggregator == "light"  # a light layer's output is its e_Nh
            self._hidden_cache = (hidden, hidden[1:] if light else aggregations)
            self._final = self.combine([hidden[0]] + [self._layer_out(h) for h in hidden[1:]])

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """Final (concatenated-layer) embeddings of the users and of the items."""
        final = self._inference_embeddings()
        return final[users + self.n_entities], final[: self.n_items]

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """users, items: int64 [B]. Returns float [B]."""
        final = self._inference_embeddings()
        return (final[users + self.n_entities] * final[items]).sum(1)

    def score_pairs_with_edge_weight(
        self, users: Tensor, items: Tensor, edge_weight: Tensor
    ) -> Tensor:
        """Scores of (user, item) pairs with every `ckg` edge e's message scaled by edge_weight[e]
        on top of its attention (ones: `score_pairs`); no dropout; differentiable. [B]."""
        users = users.to(edge_weight.device).long() + self.n_entities
        items = items.to(edge_weight.device).long()
        nodes = torch.unique(torch.cat([users, items]))
        parts = local_layers(
            self._agg, self.node.weight, self.attention, self.layers, self._layer_out, nodes,
            edge_weight,
        )  # fmt: skip
        final = self.combine(parts)
        return (final[find_rows(nodes, users)[1]] * final[find_rows(nodes, items)[1]]).sum(1)

    # --- re-scoring edited histories (core.models.rescoring.kgat) ------------------------------
    def _rescoring_cache(self, full) -> tuple[list[Tensor], list[Tensor]]:
        """(unnormalised layer outputs [x0, h1, ..., hL], the aggregations e_Nh that made
        h1..hL) of the unedited CKG, each float [N, d_l]; `full` is the attended aggregation."""
        hidden = self._hidden(full, self.node.weight.detach(), False, len(self.layers))
        if self.config.aggregator == "light":  # a light layer's output is its aggregation
            return hidden, hidden[1:]
        return hidden, [full(h) for h in hidden[:-1]]

    def snapshot(self) -> KGATSnapshot:
        """The unedited model as re-scoring reads it (`prepare_inference`'s caches, or new)."""
        with torch.no_grad():
            if self._hidden_cache is not None:
                hidden, aggs = self._hidden_cache
            else:
                hidden, aggs = self._rescoring_cache(self._attended()[0])
            return KGATSnapshot(
                config=self.config, n_entities=self.n_entities, n_items=self.n_items,
                n_relations=len(self.relation_names), ckg=self._ckg, agg=self._agg,
                src=self._src, dst=self._dst, rel=self._rel, attention=self.attention,
                attention_logits=self.attention_logits, x0=self.node.weight.detach(),
                hidden=hidden, aggs=aggs, final=self._inference_embeddings(),
                layers=self.layers, logits=self._attention_logits, layer_out=self._layer_out,
                combine=self.combine, propagate=self._propagate,
            )  # fmt: skip

    def rescorer(self) -> KGATRescorer:
        """Re-scoring of edited histories over `snapshot()`; the methods below delegate."""
        return KGATRescorer(self.snapshot())

    def score_with_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, user_params=None
    ) -> Tensor:
        return self.rescorer().score_with_histories(user, histories, items, user_params)

    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        return self.rescorer().score_with_history(user, history, items)

    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        return self.rescorer().refit_histories(user, histories, items, config)

    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        return self.rescorer().reference_scores(user, history, items, user_params)

    def entity_embeddings(self) -> Tensor:
        """Final (concatenated) embedding of every entity, items first. [n_entities, D]."""
        return self._inference_embeddings()[: self.n_entities]

    def explain_graph(self) -> dgl.DGLGraph:
        return self._ckg

    def user_table(self) -> tuple[str, int]:
        return "node.weight", self.n_entities  # CKG nodes: entities, then users

    def item_table(self) -> tuple[str, int]:
        return "node.weight", 0

    def triple_distance(self, heads: Tensor, relations: Tensor, tails: Tensor) -> Tensor:
        return self.scorer.distance(heads, relations, tails)  # eq. 1

    def on_graph_grown(self) -> None:
        self.refresh_attention()  # pi over the grown CKG, from the loaded embeddings
