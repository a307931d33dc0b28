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
  full-batch Adam, every other parameter frozen;
- "items": the mean of the rows of the items that share its attributes (its two-hop KG
  neighbours), each weighted by how many it shares: an item's row also carries what training
  on interactions put there, which entity rows do not.
Triples keep the KG's direction per relation (an item may be the head, "film.film.genre", or
the tail, "film.director.film").
The default was chosen on validation items (`LaunchConfig.placement`).
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

Placement = Literal["neighbours", "fitted", "items"]
PLACEMENTS: tuple[Placement, ...] = ("neighbours", "fitted", "items")


@dataclass(frozen=True)
class LaunchConfig:
    # see the module docstring. Validation AUC of the audience (benchmarks/launch.py, RESULTS.md
    # "Item launch measured"), neighbours / fitted / items: KGAT 0.837 / 0.782 / 0.849 (sample),
    # 0.677 / 0.662 / 0.683 (ml-100k); TransE 0.489 / 0.499 / 0.612, 0.683 / 0.655 / 0.661;
    # TransR 0.549 / 0.533 / 0.672, 0.713 / 0.649 / 0.697: "items" in four of six
    placement: Placement = "items"
    steps: int = 200  # Adam steps of the "fitted" placement
    lr: float = 0.01  # their learning rate


@dataclass(frozen=True)
class LaunchedItem:
    """A grown copy holding one new item, ready for inference (never the original model)."""

    model: Recommender
    inputs: ModelInputs
    item: int  # the new item's id (= the original n_items)
    triples: np.ndarray  # int64 [T, 3] its triples, in the copy's entity numbering


def check_triples(inputs: ModelInputs, triples: np.ndarray) -> np.ndarray:
    """The new item's triples, int64 [T, 3] (head, relation, tail), unique, -1 standing for the
    new item on exactly one side and a non-item entity (original numbering) on the other;
    ValueError when empty or out of range."""
    t = np.unique(np.asarray(triples, np.int64).reshape(-1, 3), axis=0)
    if len(t) == 0:
        raise ValueError("a new item needs at least one attribute (RELATION=ENTITY)")
    other = np.where(t[:, 0] == -1, t[:, 2], t[:, 0])
    ok = ((t[:, 0] == -1) ^ (t[:, 2] == -1)) & (t[:, 1] >= 0) & (t[:, 1] < inputs.n_relations)
    ok &= (other >= inputs.n_items) & (other < inputs.n_entities)
    if not ok.all():
        raise ValueError(f"triple {tuple(t[~ok][0].tolist())} is not (new item, relation, entity)")
    return t


def launch_item(
    model: Recommender,
    inputs: ModelInputs,
    triples: np.ndarray,
    config: LaunchConfig | None = None,
) -> LaunchedItem:
    """Place a new item with KG triples `triples` (see check_triples) in a copy of `model`."""
    config = config or LaunchConfig()
    if not supports(model, "triple_distance"):
        raise NotSupported(f"{model.name} does not place items by the knowledge graph")
    triples = check_triples(inputs, triples)
    item = inputs.n_items
    grown_inputs = with_item(inputs, triples)
    key, first = model.item_table()
    table = model.state_dict()[key]
    others = np.where(triples[:, 0] == -1, triples[:, 2], triples[:, 0])
    start = table[torch.as_tensor(first + others, device=table.device)].mean(0)
    if config.placement == "items":
        start = _shared_items_mean(table, first, inputs, triples, start)
    row = first + item
    copy = grown_copy(model, grown_inputs, [NewRow(key, row, start.unsqueeze(0))])
    new = np.asarray(grown_inputs.kg[-len(triples) :], np.int64)
    if config.placement == "fitted":
        fitted = _fit_row(copy, copy.state_dict()[key], first, row, new, config)
        with torch.no_grad():
            copy.state_dict()[key][row].copy_(fitted)
        copy.on_graph_grown()  # KGAT: the attention reads the row
    copy.train()  # drop caches built before the fit
    copy.eval()
    with torch.no_grad():
        copy.prepare_inference()
    return LaunchedItem(copy, grown_inputs, item, new)


def _fit_row(copy, table, first: int, row: int, triples: np.ndarray, config: LaunchConfig):
    """The new item's row minimising the mean KG distance of its `triples` (new numbering),
    from its current value; the other rows of `table` stay fixed."""
    device = table.device
    rel = torch.as_tensor(triples[:, 1], device=device)
    heads = torch.as_tensor(first + triples[:, 0], device=device)
    tails = torch.as_tensor(first + triples[:, 2], device=device)
    is_head = (heads == row).unsqueeze(1)
    fixed_h, fixed_t = table[heads].detach(), table[tails].detach()
    param = table[row].detach().clone().unsqueeze(0)
    avg, avg_sq = torch.zeros_like(param), torch.zeros_like(param)
    for step in range(1, config.steps + 1):
        with torch.enable_grad():
            p = param.clone().requires_grad_(True)
            h = torch.where(is_head, p, fixed_h)
            t = torch.where(is_head, fixed_t, p)
            loss = copy.triple_distance(h, rel, t).mean()
            (grad,) = torch.autograd.grad(loss, p)
        with torch.no_grad():
            adam_update_(param, grad, avg, avg_sq, step, config.lr)
    return param[0]


def _shared_items_mean(table, first: int, inputs: ModelInputs, triples: np.ndarray, fallback):
    """Mean row of the items linked to the new item's attribute entities by the same relations
    (weighted by how many attributes each shares); `fallback` when none is."""
    kg = np.asarray(inputs.kg, np.int64).reshape(-1, 3)
    weight = np.zeros(inputs.n_items)
    for h, r, t in triples.tolist():
        if h == -1:  # (item, r, t): the other items with (., r, t)
            found = kg[(kg[:, 1] == r) & (kg[:, 2] == t), 0]
        else:  # (h, r, item): the other items with (h, r, .)
            found = kg[(kg[:, 1] == r) & (kg[:, 0] == h), 2]
        np.add.at(weight, found[found < inputs.n_items], 1.0)
    if weight.sum() == 0:
        return fallback
    w = torch.as_tensor(weight / weight.sum(), dtype=table.dtype, device=table.device)
    return w @ table[first : first + inputs.n_items]
