"""A small synthetic `Dataset` with structure a model can learn: two taste groups of users, each
mostly interacting with its own half of the catalogue. Built directly, without the loaders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap


def tiny_dataset(
    name: str = "tiny", n_users: int = 40, n_items: int = 40, seed: int = 0
) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        own = np.arange(n_items // 2) + (n_items // 2) * (u % 2)  # this user's taste group
        picks = rng.choice(own, size=16, replace=False)
        other = rng.choice(np.setdiff1d(np.arange(n_items), own), size=4, replace=False)
        rows += [(u, int(i)) for i in np.concatenate([picks, other])]
    inter = pd.DataFrame(rows, columns=["user", "item"]).astype("int64")
    n_genres = 3
    kg = pd.DataFrame(
        {
            "head": np.arange(n_items),
            "relation": 0,
            "tail": n_items + np.arange(n_items) % n_genres,
        },
        dtype="int64",
    )
    items = pd.DataFrame({"title": [f"Item {i}" for i in range(n_items)]})
    genres = tuple(f"g{g}" for g in range(n_genres))
    item_raw = tuple(f"i{i}" for i in range(n_items))
    return Dataset(
        name=name,
        interactions=inter,
        items=items,
        kg=kg,
        user_ids=IdMap(tuple(f"u{u}" for u in range(n_users))),
        item_ids=IdMap(item_raw),
        entity_ids=IdMap(item_raw + genres),
        entity_names=tuple(items["title"]) + genres,
        relation_names=("genre",),
    )
