"""LightGCN (He et al., SIGIR 2020) with DGL message passing.

Propagation is e_{k+1} = D^-1/2 A D^-1/2 e_k over the user-item graph (eq. 3): no feature
transforms, no non-linearities; the final embedding is the mean of layers 0..K (eq. 4, alpha_k =
1/(K+1)); the score is a dot product (eq. 5). Training minimises BPR with L2 on the layer-0
embeddings of the batch (eq. 15).

Node numbering follows `core.graph.interaction_graph`: users 0..U-1, items U..U+I-1.
Defaults: Adam at 1e-2 on batches of 8192 (`default_lr`, `default_batch_size`). On RecBole's
ml-100k split they matched 5e-3 at 2048 on validation NDCG@20 (0.2736 vs 0.2727, within the
curve's noise) in about a third less training time: each batch propagates the whole graph once,
so fewer, larger batches make an epoch cheaper (benchmarks/RUNLOG.md, issue 14).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import dgl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.graph import interaction_graph
from core.models.base import ModelInputs, Recommender, draw_
from core.models.layers import normalised_propagate, symmetric_norm
from core.models.refit import RefitConfig, RefitResult
from core.models.rescoring.lightgcn import LightGCNRescorer
from core.models.rescoring.lightgcn_region import BaseLayers, pair_scores_with_edge_weight


@dataclass(frozen=True)
class LightGCNConfig:
    dim: int = 64  # embedding size of users and items
    n_layers: int = 3  # propagation layers K
    reg: float = 1e-4  # L2 weight on the batch's layer-0 embeddings


class LightGCN(Recommender):
    """LightGCN over a fixed interaction graph (kept on the model's device, never modified)."""

    name = "lightgcn"
    config_cls = LightGCNConfig
    default_lr: ClassVar[float] = 1e-2  # with batches of 8192; 2e-2 fell to 0.2686 (validation)
    default_batch_size: ClassVar[int] = 8192  # 16384 at 1.5e-2: 0.2712

    @classmethod
    def build(cls, inputs: ModelInputs, config: LightGCNConfig, device: torch.device) -> LightGCN:
        g = interaction_graph(inputs.n_users, inputs.n_items, inputs.train)
        return cls(inputs.n_users, inputs.n_items, g, config).to(device)

    def __init__(self, n_users: int, n_items: int, g: dgl.DGLGraph, config: LightGCNConfig):
        super().__init__(n_users, n_items)
        self.config = config
        self.embedding = nn.Embedding(n_users + n_items, config.dim)
        self.init_weights(None)
        self._graph = g
        self._norm = symmetric_norm(g)
        self._final: Tensor | None = None  # set only by prepare_inference
        self._base: BaseLayers | None = None  # the same, with every layer (re-scoring)

    def init_weights(self, generator: torch.Generator | None) -> None:
        draw_(self.embedding.weight, nn.init.normal_, generator, std=0.1)
        self._final = self._base = None

    # --- graph and propagation --------------------------------------------------------------
    @property
    def graph(self) -> dgl.DGLGraph:
        """The interaction graph (users then items); edge ids index `edge_weight` arguments."""
        return self._graph

    def _apply(self, fn, *args, **kwargs):  # keep the graph on the parameters' device
        super()._apply(fn, *args, **kwargs)
        device = self.embedding.weight.device
        self._graph = self._graph.to(device)
        self._norm = self._norm.to(device)
        self._final = self._base = None
        return self

    def layer_embeddings(self, edge_weight: Tensor | None = None) -> list[Tensor]:
        """Embeddings after each layer 0..K, each float [U + I, dim].

        edge_weight: optional float [E] over `graph` edges, multiplying every normalised
        message (the path gradient x edge-weight attributions differentiate through).
        """
        layers = [self.embedding.weight]
        for _ in range(self.config.n_layers):
            layers.append(normalised_propagate(self._graph, layers[-1], self._norm, edge_weight))
        return layers

    def propagate(self, edge_weight: Tensor | None = None) -> Tensor:
        """Final embeddings (layer mean), float [U + I, dim]. One call per training batch."""
        return torch.stack(self.layer_embeddings(edge_weight)).mean(0)

    def _inference_embeddings(self) -> Tensor:
        if self._final is not None:
            return self._final
        with torch.no_grad():
            return self.propagate()

    # --- training ---------------------------------------------------------------------------
    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """BPR loss plus L2 on layer-0 embeddings; users, pos, neg: int64 [B]. Returns scalar."""
        b = len(users)
        nodes = torch.cat([users, pos + self.n_users, neg + self.n_users])
        # split, not final[0] / final[1] / final[2]: each integer index's backward writes a
        # zero-filled copy of the whole [3B, dim] block, split's backward one concatenation
        fu, fp, fn = self._final_rows(nodes).split(b)
        diff = (fu * (fp - fn)).sum(1)  # s(u, p) - s(u, n) (bmm's backward costs ~4x more)
        return -F.logsigmoid(diff).mean() + self.config.reg * self._batch_l2(nodes) / b

    def _batch_l2(self, nodes: Tensor) -> Tensor:
        """Half the sum of squares of the layer-0 rows of `nodes` (int64 [M], repeats counted).

        With more rows in the batch than in the table (ml-100k: 3 x 8192 against 2625), each
        table row's squared norm weighted by its count in the batch is the same sum, without a
        gather of [M, dim] and the scatter-add that is its backward."""
        weight = self.embedding.weight
        if len(nodes) > len(weight):
            counts = torch.bincount(nodes, minlength=len(weight)).to(weight.dtype)
            return torch.dot(counts, (weight * weight).sum(1)) / 2
        rows = weight.index_select(0, nodes).view(-1)
        return torch.dot(rows, rows) / 2  # sum of squares without a [M, dim] temporary

    # the last layer runs on a block of the batch's in-edges only when those are at most this
    # share of all edges: building a block costs about three full sparse products (ml-100k
    # batches of 2048 reach ~90 % of the edges, amazon-book's ~1/6)
    block_edge_share: ClassVar[float] = 0.25

    def _final_rows(self, nodes: Tensor) -> Tensor:
        """`propagate()[nodes]` (float [M, dim]) for a training batch, computed with less work.

        The layers are rewritten around t_k = A (D^-1 t_{k-1}), t_0 = D^-1/2 e_0, so that
        e_k = D^-1/2 t_k and the mean over layers is (e_0 + D^-1/2 (t_1 + ... + t_K)) / (K+1):
        one sparse product and one scaling per layer. The loss reads only the batch's rows, so
        when those rows have few in-edges (`block_edge_share`) the last layer runs on a block
        holding just the edges into them. Same values as `propagate`, to rounding.
        """
        n_layers, norm, weight = self.config.n_layers, self._norm, self.embedding.weight
        if n_layers == 0:
            return weight.index_select(0, nodes)
        graph = self._graph
        # a batch with as many rows as the graph has nodes: every node's final row costs less
        # than deduplicating the batch (index_select, not [], for a cheap backward)
        uniq = None if len(nodes) >= graph.num_nodes() else torch.unique(nodes)
        t = weight * norm.unsqueeze(1)
        total = None
        for _ in range(n_layers - 1):
            t = dgl.ops.copy_u_sum(graph, t)
            total = t if total is None else total + t
            t = t * norm.pow(2).unsqueeze(1)
        if uniq is None or (
            int(graph.in_degrees(uniq).sum()) > self.block_edge_share * graph.num_edges()
        ):
            last = dgl.ops.copy_u_sum(graph, t)
            summed = last if total is None else total + last
            final = (weight + summed * norm.unsqueeze(1)) / (n_layers + 1)
            return final.index_select(0, nodes)
        src, dst = graph.in_edges(uniq)
        local = torch.empty(graph.num_nodes(), dtype=torch.long, device=uniq.device)
        local[uniq] = torch.arange(len(uniq), device=uniq.device)  # node -> block row
        block = dgl.create_block(
            (src, local[dst]), num_src_nodes=graph.num_nodes(), num_dst_nodes=len(uniq)
        )
        last = dgl.ops.copy_u_sum(block, t)
        summed = last if total is None else total.index_select(0, uniq) + last
        final = (weight.index_select(0, uniq) + summed * norm[uniq].unsqueeze(1)) / (n_layers + 1)
        return final.index_select(0, local[nodes])

    def train(self, mode: bool = True) -> LightGCN:
        if mode:  # parameters may change again: drop the inference caches
            self._final = self._base = None
        return super().train(mode)

    # --- inference --------------------------------------------------------------------------
    def prepare_inference(self) -> None:
        with torch.no_grad():
            self._base = self._base_layers()
            self._final = self._base.final

    def _base_layers(self) -> BaseLayers:
        """Every layer of the unedited propagation (`prepare_inference`'s cache, else computed
        now and not stored: a shared model is never written)."""
        if self._base is not None:
            return self._base
        with torch.no_grad():
            layers = self.layer_embeddings()
            final = torch.stack(layers).mean(0)  # `propagate`'s numbers, bit for bit
            return BaseLayers(layers[0].detach(), layers[1:], final, self._norm)

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """Layer-mean embeddings of the users and of the items."""
        final = self._inference_embeddings()
        return final[users], final[self.n_users :]

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """users, items: int64 [B]. Returns float [B]."""
        final = self._inference_embeddings()
        return (final[users] * final[items + self.n_users]).sum(1)

    def score_pairs_with_edge_weight(
        self, users: Tensor, items: Tensor, edge_weight: Tensor
    ) -> Tensor:
        """Scores of (user, item) pairs with every message of edge e scaled by edge_weight[e].

        users, items: int64 [B]; edge_weight: float [E] over `graph` edges (ones reproduce
        `score_pairs`). Differentiable in edge_weight, so d score / d edge_weight * edge_weight
        gives gradient x input edge attributions. Returns float [B].
        """
        return pair_scores_with_edge_weight(
            self._graph,
            self.embedding.weight,
            self._norm,
            self.config.n_layers,
            users.to(self._norm.device).long(),
            items.to(self._norm.device).long() + self.n_users,
            edge_weight,
        )

    def user_table(self) -> tuple[str, int]:
        return "embedding.weight", 0  # graph nodes: users, then items

    def item_table(self) -> tuple[str, int]:
        return "embedding.weight", self.n_users

    def explain_graph(self) -> dgl.DGLGraph:
        return self._graph

    # --- re-scoring edited histories (core.models.rescoring.lightgcn) ------------------------
    def rescorer(self) -> LightGCNRescorer:
        """The re-scorer over the unedited propagation (`prepare_inference`'s layers, else
        computed now and not stored: a shared model is never written)."""
        return LightGCNRescorer(
            self._graph, self._base_layers(), self.n_users, self.n_items, self.config.reg
        )

    def score_with_histories(
        self,
        user: int,
        histories: Sequence[Tensor],
        items: Tensor,
        user_params: Tensor | None = None,
    ) -> Tensor:
        """Scores [B, C] of `items` after replacing the user's edges by each of B histories,
        exactly as re-propagating each edited graph (`LightGCNRescorer`)."""
        return self.rescorer().score_with_histories(user, histories, items, user_params)

    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only re-scoring of one edited history. Returns float [C]."""
        return self.rescorer().score_with_history(user, history, items)

    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's layer-0 embedding on each edited history, then score `items`
        (`LightGCNRescorer.refit_histories`). Returns scores [B, C], params [B, dim]."""
        return self.rescorer().refit_histories(user, histories, items, config)

    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """The edited graph built and propagated from scratch (slow, independent). [C]."""
        return self.rescorer().reference_scores(user, history, items, user_params)
