"""Mini-batch training of LightGCN and KGAT on sampled computation graphs (DGL blocks).

Full-graph training propagates every node through every layer on each step, so its memory grows
with the whole graph. Here each BPR batch asks only for the final embeddings of its own users and
items: a `dgl.dataloading.BlockSampler` draws, layer by layer, the in-edges those nodes read
(all of them, or at most `fanout` per node), and the layers run on those blocks alone. Memory is
then bounded by the batch's computation graph. The model classes, their parameters and their
artifacts are unchanged; evaluation and inference stay full-graph.

The block forwards use the model's own parameters and layers and are exact: with full
neighbourhoods (fanout -1) they equal the full-graph forward (tests/train/test_minibatch.py).
With a fanout, LightGCN rescales each sampled sum by deg / sampled-deg (an unbiased estimate of
the full sum, normalised with the full graph's degrees) and KGAT renormalises the stored
attention over the sampled edges of each head (so it still sums to one).

Sampling draws from an explicit `torch.Generator`, so a seed gives one result.
"""

from __future__ import annotations

from dataclasses import dataclass

import dgl
import torch
import torch.nn.functional as F
from dgl.dataloading import BlockSampler
from torch import Tensor

from core.models.base import ModelInputs, Recommender
from core.models.layers import symmetric_norm


class MiniBatchError(ValueError):
    """Mini-batch training asked of a model without a block forward, or with bad fanouts."""


class GeneratorNeighborSampler(BlockSampler):
    """Uniform neighbour sampling, seeded by a `torch.Generator`.

    fanouts: one entry per layer, input layer first (DGL's convention); -1 takes every in-edge.
    Each block carries `edata["parent_eid"]`, the sampled edges' ids in the sampled graph, and
    src / dst `dgl.NID` node ids. (DGL's own `NeighborSampler` draws from DGL's global random
    state, which a seed argument cannot reach; this one takes the generator explicitly.)
    """

    def __init__(self, fanouts: list[int] | tuple[int, ...], generator: torch.Generator) -> None:
        super().__init__()
        self.fanouts = tuple(int(f) for f in fanouts)
        self.generator = generator

    def sample_blocks(self, g: dgl.DGLGraph, seed_nodes: Tensor, exclude_eids=None):
        """(input nodes int64 [S], seed nodes, blocks input layer first)."""
        indptr, indices, eids = g.adj_tensors("csc")  # in-edges grouped by dst (DGL caches it)
        blocks = []
        dst = seed_nodes
        for fanout in reversed(self.fanouts):
            pos, dst_of = self._sample_positions(indptr, dst, fanout)
            frontier = dgl.graph((indices[pos], dst_of), num_nodes=g.num_nodes())
            frontier.edata["parent_eid"] = eids[pos]
            block = dgl.to_block(frontier, dst_nodes=dst)
            blocks.insert(0, block)
            dst = block.srcdata[dgl.NID]
        return dst, seed_nodes, blocks

    def _sample_positions(self, indptr: Tensor, nodes: Tensor, fanout: int):
        """CSC positions of the sampled in-edges of `nodes` and each one's dst, int64 [M] each.

        A node of in-degree <= fanout (or fanout < 0) keeps every in-edge; a busier node draws
        `fanout` positions uniformly and keeps the distinct ones (no sort over the whole
        neighbourhood, so the cost is O(nodes x fanout) rather than O(edges log edges)).
        """
        start, degree = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
        full = degree <= fanout if fanout >= 0 else torch.ones_like(degree, dtype=torch.bool)
        pos, dst = (
            [_ranges(start[full], degree[full])],
            [nodes[full].repeat_interleave(degree[full])],
        )
        busy = (~full).nonzero().view(-1)
        if len(busy):
            draws = torch.rand(len(busy), fanout, generator=self.generator).to(nodes.device)
            offset = (draws * degree[busy].unsqueeze(1)).long()
            picked = torch.unique(
                busy.unsqueeze(1) * indptr[-1] + start[busy].unsqueeze(1) + offset
            )
            pos.append(picked % indptr[-1])
            dst.append(nodes[picked // indptr[-1]])
        return torch.cat(pos), torch.cat(dst)


def _ranges(start: Tensor, length: Tensor) -> Tensor:
    """Concatenated aranges [start[i], start[i] + length[i]). int64 [sum(length)]."""
    total = int(length.sum())
    if total == 0:
        return start.new_empty(0)
    first = torch.cumsum(length, 0) - length  # where each range begins in the output
    return torch.arange(total, device=start.device) + (start - first).repeat_interleave(length)


@dataclass(frozen=True)
class MiniBatch:
    """The mini-batch strategy `train_model(strategy=...)` takes.

    fanouts: neighbours sampled per node and layer, input layer first; () (the default) takes
    full neighbourhoods for every layer (exact, memory still bounded by the batch's K-hop
    neighbourhood). A single value applies to every layer.
    """

    fanouts: tuple[int, ...] = ()
    seed: int = 2020  # seeds the neighbour sampling generator

    def describe(self) -> dict:
        """What meta.json records about it."""
        return {"kind": "minibatch", "fanouts": list(self.fanouts), "seed": self.seed}

    def __call__(self, model: Recommender, inputs: ModelInputs):
        """The loss function `fit` calls instead of `model.loss`: (users, pos, neg) -> scalar."""
        generator = torch.Generator().manual_seed(self.seed)
        if model.name == "lightgcn":
            return LightGCNBlocks(model, self._fanouts(model.config.n_layers), generator).loss
        if model.name == "kgat":
            return KGATBlocks(model, self._fanouts(len(model.layers)), generator).loss
        raise MiniBatchError(f"mini-batch training supports lightgcn and kgat, not {model.name!r}")

    def _fanouts(self, n_layers: int) -> tuple[int, ...]:
        if not self.fanouts:
            return (-1,) * n_layers
        if len(self.fanouts) == 1:
            return self.fanouts * n_layers
        if len(self.fanouts) != n_layers:
            raise MiniBatchError(
                f"fanouts: {len(self.fanouts)} values for a model with {n_layers} layers"
            )
        return self.fanouts


class LightGCNBlocks:
    """LightGCN's forward on sampled blocks of its interaction graph (users, then items)."""

    def __init__(self, model, fanouts: tuple[int, ...], generator: torch.Generator) -> None:
        self.model = model
        self.sampler = GeneratorNeighborSampler(fanouts, generator)
        self.norm = symmetric_norm(model.graph)  # the full graph's deg^-1/2 [U + I]
        self.degree = model.graph.in_degrees().float()

    def final_rows(self, nodes: Tensor) -> Tensor:
        """Layer-mean embeddings of `nodes` (graph node ids, int64 [M]) from their blocks.

        Equals `model.propagate()[nodes]` with full neighbourhoods. Returns float [M, dim].
        """
        uniq, inverse = torch.unique(nodes, return_inverse=True)
        input_nodes, _, blocks = self.sampler.sample_blocks(self.model.graph, uniq)
        h = self.model.embedding(input_nodes)
        n_seeds = len(uniq)
        layers = [h[:n_seeds]]  # dst nodes come first among a block's src nodes
        for block in blocks:
            src, dst = block.srcdata[dgl.NID], block.dstdata[dgl.NID]
            summed = dgl.ops.copy_u_sum(block, h * self.norm[src].unsqueeze(1))
            # unbiased for a sampled subset: scale the sum up to the full degree
            scale = self.degree[dst] / block.in_degrees().float().clamp(min=1)
            h = summed * (self.norm[dst] * scale).unsqueeze(1)
            layers.append(h[:n_seeds])
        return torch.stack(layers).mean(0)[inverse]

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """`LightGCN.loss` (BPR plus L2 on layer-0 rows) with final rows from blocks."""
        m = self.model
        u, p, n = users, pos + m.n_users, neg + m.n_users
        final = self.final_rows(torch.cat([u, p, n])).view(3, len(users), -1)
        pos_s = (final[0] * final[1]).sum(1)
        neg_s = (final[0] * final[2]).sum(1)
        ego = m.embedding.weight
        reg = (ego[u].pow(2).sum() + ego[p].pow(2).sum() + ego[n].pow(2).sum()) / 2
        return -F.logsigmoid(pos_s - neg_s).mean() + m.config.reg * reg / len(users)


class KGATBlocks:
    """KGAT's CF forward on sampled blocks of its collaborative KG (entities, then users).

    Messages flow tail -> head (the aggregation graph is the CKG reversed, same edge ids),
    weighted by the model's stored attention buffer, which the CF phase treats as a constant.
    """

    def __init__(self, model, fanouts: tuple[int, ...], generator: torch.Generator) -> None:
        self.model = model
        self.sampler = GeneratorNeighborSampler(fanouts, generator)
        self.agg = dgl.reverse(model.ckg)  # same edge ids as the CKG; tail -> head

    def final_rows(self, nodes: Tensor, dropout: bool) -> Tensor:
        """Concatenated layer outputs of CKG `nodes` (int64 [M]) from their blocks.

        Equals `torch.cat(model.layer_embeddings(), 1)[nodes]` with full neighbourhoods and no
        dropout. Returns float [M, dim + sum(layer_dims)].
        """
        m = self.model
        if self.agg.device != m.node.weight.device:
            self.agg = self.agg.to(m.node.weight.device)
        uniq, inverse = torch.unique(nodes, return_inverse=True)
        input_nodes, _, blocks = self.sampler.sample_blocks(self.agg, uniq)
        h = m.node(input_nodes)
        n_seeds = len(uniq)
        outputs = [h[:n_seeds]]
        for layer, block in zip(m.layers, blocks, strict=True):
            att = m.attention[block.edata["parent_eid"]]
            # renormalise over the sampled edges of each head (a no-op with full neighbourhoods)
            total = dgl.ops.copy_e_sum(block, att.unsqueeze(1)).squeeze(1)
            weight = att / total.clamp(min=1e-12)[block.edges()[1]]
            neigh = dgl.ops.u_mul_e_sum(block, h, weight.unsqueeze(1))
            h = layer(h[: block.num_dst_nodes()], neigh)
            h = F.dropout(h, m.config.mess_dropout, training=dropout)
            outputs.append(m._layer_out(h[:n_seeds]))
        return m.combine(outputs)[inverse]

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """`KGAT.loss` (BPR on final embeddings plus L2) with final rows from blocks."""
        m = self.model
        nodes = torch.cat([users + m.n_entities, pos, neg])
        final = self.final_rows(nodes, m.training).view(3, len(users), -1)
        u, p, n = final[0], final[1], final[2]
        bpr = -F.logsigmoid((u * p).sum(1) - (u * n).sum(1)).mean()
        l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / 2
        return bpr + m.config.reg * l2 / len(users)
