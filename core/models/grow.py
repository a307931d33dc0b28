"""A copy of a trained model over grown inputs: one more user (fold-in), one more item (launch).

The copy is built by the model's own `build` over the grown `ModelInputs` (so its graphs hold the
new user's or item's edges), and every trained parameter is copied over unchanged; the tables a
model declares (`Recommender.user_table` / `item_table`) get one new row, whose values the caller
chooses. State derived from parameters and graph together (KGAT's edge attention) is recomputed
by `on_graph_grown`. The original model is never modified, so a shared model stays read-only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor

from core.models.base import ModelInputs, Recommender


@dataclasses.dataclass(frozen=True)
class NewRow:
    """Insert `values` (float [1, ...]) into the state entry `key` before row `row`."""

    key: str
    row: int
    values: Tensor


def grown_copy(model: Recommender, inputs: ModelInputs, rows: list[NewRow]) -> Recommender:
    """type(model) built over `inputs` with model's config, carrying model's trained state with
    `rows` inserted; eval mode, inference caches not yet built (call `prepare_inference`).

    An entry whose shape differs between the model and the copy (other than the grown ones) is
    left as built, and must be one `on_graph_grown` recomputes."""
    state = model.state_dict()
    device = next(iter(state.values())).device if state else torch.device("cpu")
    copy = type(model).build(inputs, model.config, device)
    target = copy.state_dict()
    grown = {r.key: r for r in rows}
    for key, value in state.items():
        if key in grown:
            r = grown[key]
            new = r.values.to(value).reshape(1, *value.shape[1:])
            target[key] = torch.cat([value[: r.row], new, value[r.row :]])
        elif target[key].shape == value.shape:
            target[key] = value.clone()
    copy.load_state_dict(target, strict=True)
    copy.eval()
    with torch.no_grad():
        copy.on_graph_grown()
    return copy


def with_user(inputs: ModelInputs, items: np.ndarray) -> ModelInputs:
    """`inputs` with user n_users added, whose training rows are `items` (int64 [T], in order)."""
    rows = np.stack([np.full(len(items), inputs.n_users, np.int64), items], 1)
    train = np.concatenate([np.asarray(inputs.train, np.int64).reshape(-1, 2), rows])
    return dataclasses.replace(inputs, n_users=inputs.n_users + 1, train=train)


def with_item(inputs: ModelInputs, triples: np.ndarray) -> ModelInputs:
    """`inputs` with item n_items added (entity ids of other entities shift up by one, since
    items come first) and its KG triples `triples` (int64 [T, 3] (head, relation, tail) in the
    *old* numbering, with -1 standing for the new item) appended last."""
    item = inputs.n_items

    def shift(e: np.ndarray) -> np.ndarray:
        return np.where(e < 0, item, np.where(e >= item, e + 1, e))

    kg = np.asarray(inputs.kg, np.int64).reshape(-1, 3).copy()
    kg[:, 0], kg[:, 2] = shift(kg[:, 0]), shift(kg[:, 2])
    new = np.asarray(triples, np.int64).reshape(-1, 3).copy()
    new[:, 0], new[:, 2] = shift(new[:, 0]), shift(new[:, 2])
    return dataclasses.replace(
        inputs,
        n_items=item + 1,
        n_entities=inputs.n_entities + 1,
        kg=np.concatenate([kg, new]),
    )
