"""Launching a new item: placed from its KG attributes by the model's own KG machinery, no
retraining.

The item becomes item `n_items` of a grown copy of the model (`core.models.grow`: other
entities shift up by one, since items come first), with its triples (new item, relation,
entity) in the copy's KG, so a KG model's propagation (KGAT) reaches it through its attributes.
Its only free parameters are its own layer-0 row (`Recommender.item_table`), set by
`LaunchConfig.placement`:
- "neighbours": the mean of its attribute entities' rows;
- "fitted": that mean, then fitted to its triples under the model's own KG distance
  (`Recommender.triple_distance`: TransE's h + r ~ t, TransR's and KGAT's W_r h + r ~ W_r t) by
  full-batch Adam, every other parameter frozen.
Which one a model uses was chosen on validation items (benchmarks/launch.py, RESULTS.md).
Models that place items by the KG are those that declare `triple_distance` (KGAT, TransE,
TransR); the others raise NotSupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.models.adam import adam_update_
from core.models.base import ModelInputs, NotSupported, Recommender, supports
from core.models.grow import NewRow, grown_copy, with_item

Placement = Literal["neighbours", "fitted"]


@dataclass(frozen=True)
class LaunchConfig:
    placement: Placement = "fitted"  # see the module docstring; chosen on validation
    steps: int = 200  # Adam steps of the "fitted" placement
    lr: float = 0.01  # their learning rate


@dataclass(frozen=True)
class LaunchedItem:
    """A grown copy holding one new item, ready for inference (never the original model)."""

    model: Recommender
    inputs: ModelInputs
    item: int  # the new item's id (= the original n_items)
    triples: np.ndarray  # int64 [T, 3] its triples, in the copy's entity numbering


def check_attributes(inputs: ModelInputs, attributes: np.ndarray) -> np.ndarray:
    """(relation, entity) pairs, int64 [T, 2], unique; ValueError when empty or out of range
    (entities must be non-item entities of the original numbering)."""
    attrs = np.unique(np.asarray(attributes, np.int64).reshape(-1, 2), axis=0)
    if len(attrs) == 0:
        raise ValueError("a new item needs at least one attribute (RELATION=ENTITY)")
    bad_r = attrs[(attrs[:, 0] < 0) | (attrs[:, 0] >= inputs.n_relations)]
    bad_e = attrs[(attrs[:, 1] < inputs.n_items) | (attrs[:, 1] >= inputs.n_entities)]
    if len(bad_r) or len(bad_e):
        raise ValueError(f"attribute {tuple((bad_r if len(bad_r) else bad_e)[0])} is out of range")
    return attrs


def launch_item(
    model: Recommender,
    inputs: ModelInputs,
    attributes: np.ndarray,
    config: LaunchConfig | None = None,
) -> LaunchedItem:
    """Place a new item with KG attributes `attributes` (int64 [T, 2] (relation id, entity id),
    original numbering) in a copy of `model`."""
    config = config or LaunchConfig()
    if not supports(model, "triple_distance"):
        raise NotSupported(f"{model.name} does not place items by the knowledge graph")
    attrs = check_attributes(inputs, attributes)
    item = inputs.n_items
    triples = np.stack([np.full(len(attrs), item), attrs[:, 0], attrs[:, 1]], 1)
    grown_inputs = with_item(inputs, triples)
    key, first = model.item_table()
    table = model.state_dict()[key]
    start = table[torch.as_tensor(first + attrs[:, 1], device=table.device)].mean(0)
    row = first + item
    copy = grown_copy(model, grown_inputs, [NewRow(key, row, start.unsqueeze(0))])
    new = np.asarray(grown_inputs.kg[-len(attrs) :], np.int64)
    if config.placement == "fitted":
        fitted = _fit_row(copy, start, new, config)
        with torch.no_grad():
            copy.state_dict()[key][row].copy_(fitted)
        copy.on_graph_grown()  # KGAT: the attention reads the row
    copy.train()  # drop caches built before the fit
    copy.eval()
    with torch.no_grad():
        copy.prepare_inference()
    return LaunchedItem(copy, grown_inputs, item, new)


def _fit_row(copy: Recommender, start: torch.Tensor, triples: np.ndarray, config: LaunchConfig):
    """The row minimising the mean KG distance of `triples` (new numbering), from `start`."""
    device = start.device
    rel = torch.as_tensor(triples[:, 1], device=device)
    tails = torch.as_tensor(triples[:, 2], device=device)
    row = start.detach().clone().unsqueeze(0)
    avg, avg_sq = torch.zeros_like(row), torch.zeros_like(row)
    for step in range(1, config.steps + 1):
        with torch.enable_grad():
            param = row.clone().requires_grad_(True)
            heads = param.expand(len(triples), -1)
            loss = copy.triple_distance(heads, rel, tails).mean()
            (grad,) = torch.autograd.grad(loss, param)
        with torch.no_grad():
            adam_update_(row, grad, avg, avg_sq, step, config.lr)
    return row[0]
