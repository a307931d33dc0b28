"""`KGATSnapshot`: the unedited KGAT as its re-scoring reads it (built by
`KGAT.snapshot()`, kept by `prepare_inference`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dgl
from torch import Tensor, nn

from core.models.kgat_config import KGATConfig


@dataclass(frozen=True)
class KGATSnapshot:
    """The unedited KGAT as its re-scoring reads it; every tensor is read-only.

    CKG node ids (entities then users); edges src -> dst with relation rel, int64 [E] each; agg:
    the CKG reversed (messages tail -> head, same edge ids). attention, attention_logits: float
    [E]. x0: layer-0 node table [N, dim]; hidden: unnormalised layer outputs [x0, h1, .., hL];
    aggs: the aggregations e_Nh that made h1..hL; final: the final embeddings [N, D]. The
    callables are the model's own layers and formulas (no state of theirs is written).
    """

    config: KGATConfig
    n_entities: int
    n_items: int
    n_relations: int  # CKG relations, "interacted" and its inverse last
    ckg: dgl.DGLGraph
    agg: dgl.DGLGraph
    src: Tensor
    dst: Tensor
    rel: Tensor
    attention: Tensor
    attention_logits: Tensor
    x0: Tensor
    hidden: list[Tensor]
    aggs: list[Tensor]
    final: Tensor
    layers: nn.ModuleList  # layer(ego [n, .., d], e_Nh [n, .., d]) -> [n, .., d']
    logits: Callable[[Tensor, Tensor, Tensor], Tensor]  # pi(h, r, t) of new triples (eq. 4)
    layer_out: Callable[[Tensor], Tensor]  # a layer's part of the final embedding
    combine: Callable[[list[Tensor]], Tensor]  # the final embedding from the layer parts
    propagate: Callable[..., list[Tensor]]  # (agg, x0, attention, dropout) -> layer parts
