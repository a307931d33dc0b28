"""RecBole 1.2.x model weights -> RecLens models that compute the same scores.

Each supported RecBole model names the RecLens model, the config built from the checkpoint's
settings and how its state_dict rows move to RecLens ids (`RecBoleIds.users` / `.items`: the
RecLens id of each RecBole id, [PAD] at RecBole id 0 dropped).

- BPR: score = <user_embedding[u], item_embedding[i]> -> BPRMF (dim = embedding_size).
- KGAT (aggregators bi, gcn, graphsage): core.store.recbole_kgat, RecBole's merged-pair
  attention included.
- LightGCN: layer-mean propagation over D^-1/2 A D^-1/2 of the training graph, dot product ->
  LightGCN (dim = embedding_size, n_layers). RecBole adds 1e-7 to each degree before the
  inverse square root; RecLens does not, a relative difference below 1e-7 per message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.data.recbole_ids import RecBoleIds, RecBoleKGIds
from core.models.base import ModelInputs, Recommender
from core.models.bprmf import BPRMFConfig
from core.models.lightgcn import LightGCNConfig
from core.models.registry import model_class
from core.store.artifacts import ArtifactError
from core.store.recbole_kgat import kgat_config, load_kgat


@dataclass(frozen=True)
class Mapping:
    """How one RecBole model becomes a RecLens one."""

    reclens: str  # RecLens model name (core.models.registry)
    knowledge: bool  # RecBole's knowledge-aware dataset (items without a KG link dropped)
    config: Callable[[dict[str, Any]], Any]  # RecBole settings -> RecLens config
    # weights into the model, in place: (model, state_dict, ids, KG ids or None)
    load: Callable[[Recommender, dict[str, Tensor], RecBoleIds, RecBoleKGIds | None], None]
    settings: tuple[str, ...]  # the RecBole settings that shape its scores (recorded)


def _rows(weight: Tensor, index: np.ndarray, size: int, what: str, key: str) -> Tensor:
    """weight's rows moved to RecLens order: row index[k] <- weight[k] for RecBole ids k >= 1."""
    if weight.shape[0] != len(index):
        raise ArtifactError(
            f"checkpoint {key} has {weight.shape[0]} {what} rows (with [PAD]) but the dataset "
            f"gives {len(index)} {what}s as RecBole numbers them (with [PAD]); was it trained "
            "on another dataset or with other settings?"
        )
    covered = np.zeros(size, dtype=bool)
    covered[index[1:]] = True
    if not covered.all():
        raise ArtifactError(
            f"{int((~covered).sum())} {what}(s) of the dataset are unknown to the checkpoint"
        )
    out = torch.empty(size, weight.shape[1], dtype=torch.float32)
    out[torch.as_tensor(index[1:])] = weight[1:].float()
    return out


def _tensor(state: dict[str, Tensor], key: str) -> Tensor:
    if key not in state or not isinstance(state[key], Tensor):
        raise ArtifactError(f"checkpoint state_dict has no tensor {key!r}")
    return state[key]


def _embedding(state: dict[str, Tensor], what: str, index: np.ndarray, size: int) -> Tensor:
    key = f"{what}_embedding.weight"
    return _rows(_tensor(state, key), index, size, what, key)


def _load_bpr(model: Recommender, state: dict[str, Tensor], ids: RecBoleIds, _kg=None) -> None:
    users = _embedding(state, "user", ids.users, model.n_users)
    items = _embedding(state, "item", ids.items, model.n_items)
    with torch.no_grad():
        model.user_emb.weight.copy_(users)
        model.item_emb.weight.copy_(items)


def _load_lightgcn(model: Recommender, state: dict[str, Tensor], ids: RecBoleIds, _kg=None) -> None:
    users = _embedding(state, "user", ids.users, model.n_users)
    items = _embedding(state, "item", ids.items, model.n_items)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.cat([users, items]))


MAPPINGS: dict[str, Mapping] = {
    "BPR": Mapping(
        "bprmf",
        False,
        lambda s: BPRMFConfig(dim=int(s["embedding_size"])),
        _load_bpr,
        ("embedding_size",),
    ),
    "LightGCN": Mapping(
        "lightgcn",
        False,
        lambda s: LightGCNConfig(
            dim=int(s["embedding_size"]),
            n_layers=int(s["n_layers"]),
            reg=float(s.get("reg_weight", LightGCNConfig.reg)),
        ),
        _load_lightgcn,
        ("embedding_size", "n_layers", "reg_weight"),
    ),
    "KGAT": Mapping(
        "kgat",
        True,
        kgat_config,
        load_kgat,
        (
            "embedding_size",
            "kg_embedding_size",
            "layers",
            "aggregator_type",
            "mess_dropout",
            "reg_weight",
        ),
    ),
}


def mapping_for(model: str) -> Mapping:
    """The Mapping of RecBole model `model`; ArtifactError listing those supported otherwise."""
    if model not in MAPPINGS:
        raise ArtifactError(
            f"RecBole model {model!r} cannot be imported; supported: {', '.join(MAPPINGS)}"
        )
    return MAPPINGS[model]


def build_model(
    mapping: Mapping,
    settings: dict[str, Any],
    inputs: ModelInputs,
    state: dict[str, Tensor],
    ids: RecBoleIds,
    kg_ids: RecBoleKGIds | None = None,
) -> Recommender:
    """The RecLens model of `mapping` with the checkpoint's weights, on CPU, in eval mode."""
    try:
        config = mapping.config(settings)
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"checkpoint config lacks a usable setting ({err})") from None
    model = model_class(mapping.reclens).build(inputs, config, torch.device("cpu"))
    mapping.load(model, state, ids, kg_ids)
    model.eval()
    with torch.no_grad():
        model.prepare_inference()
    return model


def recorded_settings(mapping: Mapping, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that shape the scores, as plain JSON values."""
    return {k: settings[k] for k in mapping.settings if k in settings}
