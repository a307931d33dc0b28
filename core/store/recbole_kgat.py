"""RecBole 1.2.x KGAT -> RecLens KGAT with the same scores.

RecBole's KGAT (recbole/model/knowledge_aware_recommender/kgat.py) at inference:
- nodes are users then entities (items first); its collaborative KG has the .kg triples head ->
  tail only (no inverse edges at kg_reverse_r off) and user <-> item edges under one relation;
- attention: the logit of a triple is (W_r e_t) . tanh(W_r e_h + e_r) over the layer-0
  embeddings; RecBole puts the logits in a sparse [N, N] matrix and `torch.sparse.softmax`
  normalises its rows after coalescing, so the logits of a (head, tail) pair joined by several
  relations are *summed* into one entry, and each row is a softmax over distinct tails;
- layers: its "bi" aggregator (LeakyReLU slope 0.01, biases) is RecLens's bi-interaction, its
  "gcn" and "graphsage" RecLens's aggregators of those names;
  outputs L2-normalised and concatenated after the layer-0 embedding; score = dot product.

The RecLens CKG has every KG edge in both directions and two interaction relations. The import
gives RecLens's model RecBole's weights (both interaction relations take RecBole's one; an inverse
relation takes its forward relation's weights, unused at inference) and stores RecBole's
attention in the model's attention buffer: each edge RecBole has gets its (head, tail) pair's
weight divided by the number of relations joining the pair, so the attended sum is RecBole's;
inverse edges get 0. The checkpoint holds no attention matrix: it is recomputed from the
weights exactly as RecBole recomputes it after each epoch, before the validation that saved them.
Items RecBole dropped (no KG link) keep a zero layer-0 embedding and no edges.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from core.data.recbole_ids import RecBoleIds, RecBoleKGIds
from core.models.kgat import KGAT
from core.models.kgat_attention import triple_logits
from core.models.kgat_config import KGATConfig
from core.store.artifacts import ArtifactError

RECBOLE_SLOPE = 0.01  # torch.nn.LeakyReLU's default, which RecBole's Aggregator uses
# RecBole's aggregator_type -> KGATConfig.aggregator
AGGREGATORS = {"bi": "bi-interaction", "gcn": "gcn", "graphsage": "graphsage"}


def kgat_config(settings: dict[str, Any]) -> KGATConfig:
    """KGATConfig at the checkpoint's settings; an unknown aggregator_type is refused."""
    kind = settings.get("aggregator_type", "bi")
    if kind not in AGGREGATORS:
        raise ArtifactError(
            f"RecBole KGAT aggregator_type {kind!r} cannot be imported; supported: "
            f"{', '.join(AGGREGATORS)}"
        )
    reg = float(settings["reg_weight"])
    return KGATConfig(
        dim=int(settings["embedding_size"]),
        relation_dim=int(settings["kg_embedding_size"]),
        layer_dims=tuple(int(d) for d in settings["layers"]),
        mess_dropout=float(settings["mess_dropout"]),
        reg=reg,
        kg_reg=reg,
        kg_triples="kg",
        negative_slope=RECBOLE_SLOPE,
        normalize=True,
        aggregator=AGGREGATORS[kind],
        combine="concat",
    )


def _weight(state: dict[str, Tensor], key: str) -> Tensor:
    if key not in state or not isinstance(state[key], Tensor):
        raise ArtifactError(f"checkpoint state_dict has no tensor {key!r}")
    return state[key].float()


def _nodes(model: KGAT, state, ids: RecBoleIds, kg: RecBoleKGIds) -> Tensor:
    users, entities = (
        _weight(state, "user_embedding.weight"),
        _weight(state, "entity_embedding.weight"),
    )
    if len(users) != len(ids.users) or len(entities) != len(kg.entities):
        raise ArtifactError(
            f"checkpoint has {len(users)} users and {len(entities)} entities (with [PAD]); the "
            f"dataset gives {len(ids.users)} and {len(kg.entities)} as RecBole numbers them"
        )
    table = torch.zeros_like(model.node.weight)
    table[torch.as_tensor(kg.entities[1:])] = entities[1:]
    table[model.n_entities + torch.as_tensor(ids.users[1:])] = users[1:]
    return table


def _relations(model: KGAT, state, kg: RecBoleKGIds) -> tuple[Tensor, Tensor]:
    """(e_r [R', k], W_r [R', d, k]) over RecLens's 2R + 2 CKG relations."""
    rel_emb, trans = _weight(state, "relation_embedding.weight"), _weight(state, "trans_w.weight")
    n_kg = (len(model.relation_names) - 2) // 2
    source = torch.empty(len(model.relation_names), dtype=torch.long)
    fwd = torch.as_tensor(kg.relations[1:-1])
    source[fwd] = torch.arange(1, len(kg.relations) - 1)
    source[fwd + n_kg] = source[fwd]  # inverse edges: unused at inference (attention 0)
    source[2 * n_kg :] = len(kg.relations) - 1  # both interaction relations: [UI-Relation]
    d, k = model.config.dim, model.config.relation_dim
    return rel_emb[source], trans[source].view(-1, d, k)


def _logits(model: KGAT) -> Tensor:
    """pi(h, r, t) of every CKG edge from the model's weights, float [E]."""
    src, dst = model.ckg.edges()
    scorer = model.scorer
    return triple_logits(
        model.node.weight,
        scorer.projection,
        scorer.relation.weight,
        src,
        model.ckg.edata["rel"],
        dst,
    )


def _merged_attention(model: KGAT, logits: Tensor) -> Tensor:
    """RecBole's row softmax over summed (head, tail) logits, spread over RecLens's edges."""
    src, dst = model.ckg.edges()
    rel = model.ckg.edata["rel"]
    n_kg = (len(model.relation_names) - 2) // 2
    used = (rel < n_kg) | (rel >= 2 * n_kg)  # RecBole has no inverse KG edges
    n = model.ckg.num_nodes()
    pair = (src * n + dst)[used]
    uniq, which, count = torch.unique(pair, return_inverse=True, return_counts=True)
    summed = torch.zeros(len(uniq), dtype=logits.dtype).index_add_(0, which, logits[used])
    head = uniq // n
    top = torch.full((n,), float("-inf"), dtype=logits.dtype).scatter_reduce(
        0, head, summed, "amax"
    )
    expo = torch.exp(summed - top[head])
    total = torch.zeros(n, dtype=logits.dtype).index_add_(0, head, expo)
    att = torch.zeros(len(rel), dtype=logits.dtype)
    att[used] = (expo / total[head] / count)[which]
    return att


def load_kgat(model: KGAT, state: dict[str, Tensor], ids: RecBoleIds, kg: RecBoleKGIds) -> None:
    """RecBole KGAT weights into `model` (module docstring), attention included."""
    rel_emb, proj = _relations(model, state, kg)
    with torch.no_grad():
        model.node.weight.copy_(_nodes(model, state, ids, kg))
        model.scorer.relation.weight.copy_(rel_emb)
        model.scorer.projection.copy_(proj)
        for k, layer in enumerate(model.layers):
            pairs = [(layer.w, "W")] if model.config.aggregator in ("gcn", "graphsage") else []
            pairs = pairs or [(layer.w1, "W1"), (layer.w2, "W2")]
            for ours, theirs in pairs:
                ours.weight.copy_(_weight(state, f"aggregator_layers.{k}.{theirs}.weight"))
                ours.bias.copy_(_weight(state, f"aggregator_layers.{k}.{theirs}.bias"))
        logits = _logits(model)
        model.attention_logits.copy_(logits)
        model.attention.copy_(_merged_attention(model, logits))
