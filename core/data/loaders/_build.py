"""Turn loader output (internal user/item ids, raw KG strings) into one validated `Dataset`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap, LoadReport
from core.data.errors import DataError
from core.data.loaders._io import LINE, first_seen


def dedupe_interactions(inter: pd.DataFrame, label: str, report: LoadReport) -> pd.DataFrame:
    """Drop repeated (user, item[, split]) rows, keeping the first, and count them."""
    keys = ["user", "item"] + (["split"] if "split" in inter.columns else [])
    dup = inter.duplicated(subset=keys, keep="first").to_numpy()
    report.drop(label, "repeated (user, item) pair, first kept", int(dup.sum()))
    return inter.loc[~dup].reset_index(drop=True) if dup.any() else inter


def build_kg(
    kg_raw: pd.DataFrame | None,
    item_ids: IdMap,
    kg_path: Path | None,
    report: LoadReport,
    *,
    other_entities: Sequence[str] | None = None,
    relation_order: Sequence[str] | None = None,
    label: str | None = None,
) -> tuple[pd.DataFrame, IdMap, tuple[str, ...]]:
    """Map raw (head, relation, tail) strings to ids; items are entities 0..n_items-1.

    kg_raw: string columns head, relation, tail (+ `_line`); a head/tail equal to an item's raw id
    is that item. other_entities fixes the order of non-item entities (default: first seen).
    label names the KG in the report (default: the KG file's name).
    Returns (kg int64 frame, entity IdMap, relation names).
    """
    empty = pd.DataFrame({c: np.zeros(0, np.int64) for c in ("head", "relation", "tail")})
    if kg_raw is None or kg_raw.empty:
        extra = list(other_entities or [])
        return empty, IdMap(tuple(item_ids.raw) + tuple(extra)), tuple(relation_order or ())
    heads, tails = kg_raw["head"].to_numpy(), kg_raw["tail"].to_numpy()
    items = pd.Index(item_ids.raw)
    if other_entities is None:
        seen = pd.Index(first_seen(heads, tails))
        other_entities = seen[~seen.isin(items)].tolist()
    entities = IdMap(tuple(item_ids.raw) + tuple(other_entities))
    if len(set(entities.raw)) != len(entities.raw):
        raise DataError(
            "an entity id equals an item id but is listed as a separate entity", path=kg_path
        )
    ent_index = pd.Index(entities.raw)
    h = ent_index.get_indexer(heads)
    t = ent_index.get_indexer(tails)
    unknown = np.flatnonzero((h < 0) | (t < 0))
    if len(unknown):
        i = int(unknown[0])
        raise DataError(
            f"entity {heads[i] if h[i] < 0 else tails[i]!r} is not in the entity list",
            path=kg_path,
            line=int(kg_raw[LINE].iat[i]),
        )
    if relation_order is None:
        relation_order = first_seen(kg_raw["relation"].to_numpy())
    r = pd.Index(list(relation_order)).get_indexer(kg_raw["relation"].to_numpy())
    if (r < 0).any():
        i = int(np.flatnonzero(r < 0)[0])
        raise DataError(
            f"relation {kg_raw['relation'].iat[i]!r} is not in the relation list",
            path=kg_path,
            line=int(kg_raw[LINE].iat[i]),
        )
    kg = pd.DataFrame({"head": h, "relation": r, "tail": t})
    label = label or (kg_path.name if kg_path is not None else "kg")
    kg = finish_kg(kg, len(item_ids), kg_path, label, report, item_ids.raw[:3])
    return kg, entities, tuple(relation_order)


def finish_kg(
    kg: pd.DataFrame,
    n_items: int,
    kg_path: Path | None,
    label: str,
    report: LoadReport,
    example_items: Sequence[str] = (),
) -> pd.DataFrame:
    """Check a KG of int ids touches some item, drop repeated triples (counted), set dtypes."""
    kg = kg.astype(np.int64)
    if len(kg) and not ((kg["head"] < n_items) | (kg["tail"] < n_items)).any():
        raise DataError(
            "KG references no known item: no head or tail equals an item id "
            f"(first item ids: {', '.join(example_items) or f'0..{n_items - 1}'})",
            path=kg_path,
        )
    dup = kg.duplicated().to_numpy()
    report.drop(label, "repeated triple", int(dup.sum()))
    kg = kg.loc[~dup].reset_index(drop=True)
    report.rows_kept[label] = len(kg)
    return kg


def assemble(
    name: str,
    *,
    interactions: pd.DataFrame,
    user_ids: IdMap,
    item_ids: IdMap,
    items: pd.DataFrame,
    kg: pd.DataFrame,
    entity_ids: IdMap,
    relation_names: Sequence[str],
    report: LoadReport,
    entity_names: Mapping[str, str] | None = None,
    users: pd.DataFrame | None = None,
) -> Dataset:
    """Final checks and dtypes; `interactions` already holds internal int ids."""
    inter = interactions.drop(columns=[LINE], errors="ignore").reset_index(drop=True)
    inter["user"] = inter["user"].astype(np.int64)
    inter["item"] = inter["item"].astype(np.int64)
    if "rating" in inter.columns:
        inter["rating"] = inter["rating"].astype(np.float64)
    if "timestamp" in inter.columns:
        inter["timestamp"] = inter["timestamp"].astype(np.int64)
    items = items.drop(columns=[LINE], errors="ignore").reset_index(drop=True)
    items["title"] = items["title"].astype(str)
    names = dict(entity_names or {})
    n_items = len(item_ids)
    ent_names = tuple(items["title"].tolist()) + tuple(
        names.get(raw, raw) for raw in entity_ids.raw[n_items:]
    )
    if users is not None:
        users = users.drop(columns=[LINE], errors="ignore").reset_index(drop=True)
    return Dataset(
        name=name,
        interactions=inter,
        items=items,
        kg=kg,
        user_ids=user_ids,
        item_ids=item_ids,
        entity_ids=entity_ids,
        entity_names=ent_names,
        relation_names=tuple(relation_names),
        users=users,
        report=report,
    )
