"""RecBole's internal ids for a RecLens Dataset loaded from RecBole atomic files.

A RecBole checkpoint indexes its embeddings by RecBole's internal ids, which RecBole 1.2.x derives
from the atomic files at load time (recbole/data/dataset/dataset.py and kg_dataset.py):

1. filtering, before any id exists: for a knowledge-aware model, the interactions of items
   without a usable NAME.link entry (item seen in .inter, entity seen in .kg) are dropped;
   with `filter_inter_by_user_or_item`, interactions whose user / item is missing from a loaded
   .user / .item file are dropped. Pre-split benchmark files skip all filtering.
2. remapping: a field's tokens are the kept .inter column followed by the loaded .user / .item
   column, numbered in first-seen order from 1 (`pandas.factorize`); 0 is "[PAD]".
3. for a knowledge-aware model, items are then reordered: [PAD], items without a link, linked
   items, each group keeping its order.

Settings RecBole offers beyond these (value or count filters, duplicate removal, aliases) are
refused by name rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.errors import DataError

PAD = "[PAD]"
_NO_OP_INTERVALS = (None, "[0,inf)", "[0, inf)")


@dataclass(frozen=True)
class RecBoleIds:
    """rows: int64 [N], the dataset.interactions rows RecBole keeps, in RecBole's row order.
    users / items: int64 [U+1] / [I+1], the RecLens id of each RecBole id (-1 at [PAD], 0).
    notes: what was filtered, for the import's report."""

    rows: np.ndarray
    users: np.ndarray
    items: np.ndarray
    notes: list[str] = field(default_factory=list)
    linked: frozenset[str] = frozenset()  # knowledge-aware: items with a kept KG link


@dataclass(frozen=True)
class RecBoleKGIds:
    """entities: int64 [E+1], the RecLens entity id of each RecBole entity id (-1 at [PAD]; -1
    for none). relations: int64 [R+2], the RecLens relation of each RecBole relation id ([PAD]
    at 0 and the interaction relation "[UI-Relation]" last map to -1)."""

    entities: np.ndarray
    relations: np.ndarray


def _refuse_unsupported(settings: dict[str, Any], folder: Path) -> None:
    checks = {
        "rm_dup_inter": settings.get("rm_dup_inter") is None,
        "val_interval": not settings.get("val_interval"),
        "user_inter_num_interval": settings.get("user_inter_num_interval") in _NO_OP_INTERVALS,
        "item_inter_num_interval": settings.get("item_inter_num_interval") in _NO_OP_INTERVALS,
        "alias_of_user_id": not settings.get("alias_of_user_id"),
        "alias_of_item_id": not settings.get("alias_of_item_id"),
        "entity_kg_num_interval": settings.get("entity_kg_num_interval") in _NO_OP_INTERVALS,
        "relation_kg_num_interval": settings.get("relation_kg_num_interval") in _NO_OP_INTERVALS,
        "kg_reverse_r": not settings.get("kg_reverse_r"),
    }
    bad = [f"{k}={settings.get(k)!r}" for k, ok in checks.items() if not ok]
    if bad:
        raise DataError(
            f"the checkpoint was trained with RecBole settings RecLens does not rebuild: "
            f"{', '.join(bad)}",
            path=folder,
        )


def _loaded(settings: dict[str, Any], suffix: str, folder: Path, name: str) -> Path | None:
    """NAME.suffix when RecBole loaded it (present, and named in load_col if that is set)."""
    path = folder / f"{name}.{suffix}"
    load_col = settings.get("load_col")
    if not path.is_file() or (load_col is not None and suffix not in load_col):
        return None
    return path


def _tokens(path: Path, column: str) -> np.ndarray:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    if column not in frame.columns:
        raise DataError(f"no {column} column", path=path)
    return frame[column].to_numpy()


def _linked_items(folder: Path, name: str, inter_items: np.ndarray | None) -> set[str]:
    """Items with a link entry; given the .inter items, only those RecBole keeps for a
    knowledge-aware model (kg_dataset._filter_link: item in .inter, entity in .kg)."""
    link, kg = folder / f"{name}.link", folder / f"{name}.kg"
    if not link.is_file() or not kg.is_file():
        raise DataError(
            f"a knowledge-aware checkpoint needs {name}.link and {name}.kg", path=folder
        )
    items, ents = _tokens(link, "item_id"), _tokens(link, "entity_id")
    item2ent = dict(zip(items, ents, strict=True))  # a later line wins, as in RecBole's dict
    if inter_items is None:
        return set(item2ent)
    kg_ents = set(_tokens(kg, "head_id")) | set(_tokens(kg, "tail_id"))
    seen = set(inter_items)
    return {i for i, e in item2ent.items() if i in seen and e in kg_ents}


def _name(folder: Path) -> str:
    """NAME of the folder's NAME.inter (or NAME.train.inter) files."""
    names = sorted({p.name.split(".")[0] for p in folder.glob("*.inter")})
    if not names:
        raise DataError(
            "no NAME.inter file: not the atomic files of a RecBole dataset", path=folder
        )
    return folder.name if folder.name in names else names[0]


def _factorized(*columns: np.ndarray) -> np.ndarray:
    """Tokens in RecBole's id order, [PAD] first (dataset._remap)."""
    _, uniques = pd.factorize(np.concatenate(columns))
    return np.array([PAD, *uniques], dtype=object)


def _to_reclens(tokens: np.ndarray, idmap, what: str, folder: Path) -> np.ndarray:
    index = pd.Index(idmap.raw).get_indexer(tokens[1:].astype(str))
    if (index < 0).any():
        raw = tokens[1:][index < 0][0]
        raise DataError(f"RecBole {what} {raw!r} is not in the dataset RecLens loaded", path=folder)
    return np.concatenate([[-1], index]).astype(np.int64)


def recbole_ids(
    dataset: Dataset, folder: str | Path, settings: dict[str, Any], knowledge: bool
) -> RecBoleIds:
    """RecBole's rows and id order (module docstring) for `dataset`, loaded from `folder`.

    settings: the checkpoint's final_config_dict (plain data); knowledge: the model is
    knowledge-aware (KGAT). Raises DataError when a setting cannot be rebuilt or the dataset
    RecLens loaded differs from the files RecBole read (duplicates dropped, unknown ids).
    """
    folder = Path(folder)
    _refuse_unsupported(settings, folder)
    inter = dataset.interactions
    dropped = {k: v for k, v in dataset.report.dropped.items() if ".inter" in k and v}
    if dropped:
        raise DataError(
            f"RecLens dropped interaction rows RecBole keeps ({dropped}); the ids would differ",
            path=folder,
        )
    users = np.asarray(dataset.user_ids.raw, dtype=object)[inter["user"].to_numpy()]
    items = np.asarray(dataset.item_ids.raw, dtype=object)[inter["item"].to_numpy()]
    name = _name(folder)
    benchmark = settings.get("benchmark_filename")
    keep = np.ones(len(inter), dtype=bool)
    notes: list[str] = []
    user_file = _loaded(settings, "user", folder, name)
    item_file = _loaded(settings, "item", folder, name)
    user_feat = _tokens(user_file, "user_id") if user_file else np.empty(0, dtype=object)
    item_feat = _tokens(item_file, "item_id") if item_file else np.empty(0, dtype=object)
    linked: set[str] = set()
    if not benchmark:
        if settings.get("filter_inter_by_user_or_item", True):
            if user_file:
                keep &= pd.Index(user_feat).get_indexer(users) >= 0
            if item_file:
                keep &= pd.Index(item_feat).get_indexer(items) >= 0
        if knowledge:
            linked = _linked_items(folder, name, items[keep])
            unlinked = ~pd.Series(items).isin(linked).to_numpy()
            notes.append(
                f"{int((keep & unlinked).sum())} interaction(s) of items without a KG link "
                "dropped, as RecBole does for knowledge-aware models"
            )
            keep &= ~unlinked
    rows = np.flatnonzero(keep)
    user_tokens = _factorized(users[rows], user_feat)
    item_tokens = _factorized(items[rows], item_feat)
    if knowledge:
        if benchmark:  # no filtering, but the items are still reordered by their link
            linked = _linked_items(folder, name, None)
        priority = np.array([t != PAD and t in linked for t in item_tokens])
        item_tokens = item_tokens[np.argsort(priority, kind="stable")]
    return RecBoleIds(
        rows=rows.astype(np.int64),
        users=_to_reclens(user_tokens, dataset.user_ids, "user", folder),
        items=_to_reclens(item_tokens, dataset.item_ids, "item", folder),
        notes=notes,
        linked=frozenset(linked) if knowledge else frozenset(),
    )


def recbole_kg_ids(dataset: Dataset, folder: str | Path, ids: RecBoleIds) -> RecBoleKGIds:
    """RecBole's entity and relation ids (kg_dataset._merge_item_and_entity): items first, in
    item id order (a linked item is its entity), then the other entities of .kg in first-seen
    order over heads then tails; relations in first-seen order after [PAD], "[UI-Relation]"
    last (kg_reverse_r off)."""
    folder = Path(folder)
    name = _name(folder)
    kg, link = folder / f"{name}.kg", folder / f"{name}.link"
    heads, tails = _tokens(kg, "head_id"), _tokens(kg, "tail_id")
    entity2item = dict(zip(_tokens(link, "entity_id"), _tokens(link, "item_id"), strict=True))
    kept = {e for e, i in entity2item.items() if i in ids.linked}
    _, tokens = pd.factorize(np.concatenate([heads, tails]))
    others = [t for t in tokens if t not in kept]
    other_ids = pd.Index(dataset.entity_ids.raw).get_indexer(others)
    if (other_ids < 0).any():
        raw = others[int(np.flatnonzero(other_ids < 0)[0])]
        raise DataError(f"RecBole entity {raw!r} is not among the dataset's entities", path=kg)
    relations = pd.factorize(_tokens(kg, "relation_id"))[1]
    rel_ids = pd.Index(dataset.relation_names).get_indexer(relations)
    if (rel_ids < 0).any():
        raw = relations[int(np.flatnonzero(rel_ids < 0)[0])]
        raise DataError(f"RecBole relation {raw!r} is not among the dataset's relations", path=kg)
    return RecBoleKGIds(
        entities=np.concatenate([ids.items, other_ids]).astype(np.int64),
        relations=np.concatenate([[-1], rel_ids, [-1]]).astype(np.int64),
    )
