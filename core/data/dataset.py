"""The validated in-memory dataset every other layer works from.

Conventions (relied on by graph builders, models and explainers):
- Internal ids are contiguous ints starting at 0 for users, items, entities and relations.
- Every item is also an entity, and **item i is entity i**: entity ids 0..n_items-1 are the items,
  ids n_items..n_entities-1 are the other KG entities (genres, directors, ...).
- Raw ids are strings, kept in `IdMap`s so that the UI and CLI speak the user's ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class IdMap:
    """Raw string id <-> contiguous internal int id."""

    raw: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {r: i for i, r in enumerate(self.raw)})

    def __len__(self) -> int:
        return len(self.raw)

    def to_internal(self, raw_id: str) -> int:
        """Raises KeyError for an unknown raw id."""
        return self._index[str(raw_id)]  # type: ignore[attr-defined]

    def get(self, raw_id: str) -> int | None:
        return self._index.get(str(raw_id))  # type: ignore[attr-defined]

    def to_raw(self, internal_id: int) -> str:
        return self.raw[int(internal_id)]

    def __contains__(self, raw_id: object) -> bool:
        return str(raw_id) in self._index  # type: ignore[attr-defined]


@dataclass
class LoadReport:
    """What a load read, kept and dropped, per file; nothing is dropped without a reason here."""

    rows_read: dict[str, int] = field(default_factory=dict)  # file name -> data rows read
    rows_kept: dict[str, int] = field(default_factory=dict)  # file name -> rows kept
    dropped: dict[str, int] = field(default_factory=dict)  # "file: reason" -> count
    notes: list[str] = field(default_factory=list)  # anything else worth telling the user

    def drop(self, file: str, reason: str, count: int) -> None:
        if count:
            key = f"{file}: {reason}"
            self.dropped[key] = self.dropped.get(key, 0) + int(count)

    def as_dict(self) -> dict:
        return {
            "rows_read": dict(self.rows_read),
            "rows_kept": dict(self.rows_kept),
            "dropped": dict(self.dropped),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Dataset:
    """Interactions, item table, optional users, and a knowledge graph, all with internal ids.

    interactions: DataFrame with int64 columns `user`, `item`, optional float `rating`, optional
        int64 `timestamp`, and, only for pre-split formats (KGAT, RecBole benchmark files), a
        `split` column with values "train" / "valid" / "test" that splitting keeps as given.
    items: DataFrame indexed by internal item id 0..n_items-1 with at least `title` (str) and any
        attribute columns.
    users: optional DataFrame indexed by internal user id.
    kg: DataFrame with int64 columns `head`, `relation`, `tail` over entity / relation ids.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    kg: pd.DataFrame
    user_ids: IdMap
    item_ids: IdMap
    entity_ids: IdMap  # raw ids of all entities; the first n_items are the items' raw ids
    entity_names: tuple[str, ...]  # display name per entity (items: their titles)
    relation_names: tuple[str, ...]
    users: pd.DataFrame | None = None
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_entities(self) -> int:
        return len(self.entity_ids)

    @property
    def n_relations(self) -> int:
        return len(self.relation_names)

    @property
    def has_given_split(self) -> bool:
        return "split" in self.interactions.columns

    def title(self, item: int) -> str:
        return str(self.items["title"].iat[int(item)])

    def fingerprint(self) -> str:
        """Stable hash of ids, interactions and KG; artifacts record it to refuse other datasets."""
        h = hashlib.sha256()
        for idmap in (self.user_ids, self.item_ids, self.entity_ids):
            h.update("\x1f".join(idmap.raw).encode())
        h.update("\x1f".join(self.relation_names).encode())
        for frame, cols in (
            (self.interactions, ["user", "item"]),
            (self.kg, ["head", "relation", "tail"]),
        ):
            h.update(np.ascontiguousarray(frame[cols].to_numpy(np.int64)).tobytes())
        return h.hexdigest()[:16]

    def stats(self) -> dict:
        n_inter = len(self.interactions)
        return {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": n_inter,
            "entities": self.n_entities,
            "relations": self.n_relations,
            "triples": len(self.kg),
            "sparsity": 1.0 - n_inter / max(1, self.n_users * self.n_items),
        }


@dataclass(frozen=True)
class Split:
    """Train / validation / test interactions as int64 arrays of shape [N, 2] (user, item)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    method: str  # "random", "leave-one-out", "given"
    seed: int | None
    report: dict = field(default_factory=dict)  # e.g. users with no training interaction
