"""Our own CSV folder format (also what the sample data uses).

interactions.csv  user,item[,rating][,timestamp]     required
items.csv         item,title[,...attributes]          required; its order fixes item ids
users.csv         user[,...attributes]                optional; its order fixes user ids
kg.csv            head,relation,tail                  optional; an entity string equal to an item
                                                      id IS that item, other entities get ids
                                                      n_items.. in first-seen order
entities.csv      entity,name                         optional display names for KG entities
Without users.csv, user ids follow first appearance in interactions.csv.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.dataset import Dataset, IdMap, LoadReport
from core.data.loaders._build import assemble, build_kg, dedupe_interactions
from core.data.loaders._io import (
    LINE,
    clean_ids,
    first_seen,
    map_ids,
    parse_rows,
    read_text,
    require_columns,
    require_nonempty,
    to_number,
    unique_ids,
)

INTERACTIONS, ITEMS, USERS, KG, ENTITIES = (
    "interactions.csv",
    "items.csv",
    "users.csv",
    "kg.csv",
    "entities.csv",
)


def _read(folder: Path, file: str, required: list[str], expected: str, report: LoadReport):
    path = folder / file
    frame = parse_rows(read_text(path), path)
    require_columns(frame, path, required, expected)
    for col in required:
        if col not in ("title", "name"):
            require_nonempty(frame, col, path)
    report.rows_read[file] = len(frame)
    return frame, path


def _items(folder: Path, report: LoadReport) -> tuple[IdMap, pd.DataFrame]:
    frame, path = _read(folder, ITEMS, ["item", "title"], "item,title[,...attributes]", report)
    item_ids = unique_ids(frame, "item", path)
    items = frame.drop(columns=["item"]).reset_index(drop=True)
    report.rows_kept[ITEMS] = len(items)
    return item_ids, items


def _users(folder: Path, report: LoadReport) -> tuple[IdMap | None, pd.DataFrame | None]:
    if not (folder / USERS).is_file():
        return None, None
    frame, path = _read(folder, USERS, ["user"], "user[,...attributes]", report)
    user_ids = unique_ids(frame, "user", path)
    report.rows_kept[USERS] = len(frame)
    return user_ids, frame.drop(columns=["user"]).reset_index(drop=True)


def _interactions(
    folder: Path, item_ids: IdMap, user_ids: IdMap | None, report: LoadReport
) -> tuple[pd.DataFrame, IdMap]:
    expected = "user,item[,rating][,timestamp]"
    frame, path = _read(folder, INTERACTIONS, ["user", "item"], expected, report)
    extra = [c for c in frame.columns if c not in ("user", "item", "rating", "timestamp", LINE)]
    if extra:
        report.notes.append(f"{INTERACTIONS}: ignored column(s) {', '.join(extra)}")
    users, lines = clean_ids(frame["user"]), frame[LINE]
    if user_ids is None:
        user_ids = IdMap(tuple(first_seen(users.to_numpy())))
    out = pd.DataFrame(
        {
            "user": map_ids(users, user_ids, path, lines, "user", "user"),
            "item": map_ids(clean_ids(frame["item"]), item_ids, path, lines, "item", "item"),
        }
    )
    for col, integer in (("rating", False), ("timestamp", True)):
        if col in frame.columns:
            out[col] = to_number(frame, col, path, integer=integer).to_numpy()
    out = dedupe_interactions(out, INTERACTIONS, report)
    report.rows_kept[INTERACTIONS] = len(out)
    return out, user_ids


def _entity_names(folder: Path, report: LoadReport) -> dict[str, str]:
    if not (folder / ENTITIES).is_file():
        return {}
    frame, _ = _read(folder, ENTITIES, ["entity", "name"], "entity,name", report)
    return dict(zip(clean_ids(frame["entity"]), frame["name"].astype(str), strict=True))


def load_csv_folder(folder: Path) -> Dataset:
    """Load a CSV folder (see module docstring) into a Dataset."""
    report = LoadReport()
    item_ids, items = _items(folder, report)
    user_ids, users = _users(folder, report)
    inter, user_ids = _interactions(folder, item_ids, user_ids, report)
    kg_raw, kg_path = None, folder / KG
    if kg_path.is_file():
        kg_raw, _ = _read(folder, KG, ["head", "relation", "tail"], "head,relation,tail", report)
        for col in ("head", "relation", "tail"):
            kg_raw[col] = clean_ids(kg_raw[col])
    kg, entity_ids, relations = build_kg(kg_raw, item_ids, kg_path, report)
    names = _entity_names(folder, report)
    unused = len(set(names) - set(entity_ids.raw))
    if unused:
        report.notes.append(f"{ENTITIES}: {unused} name(s) for entities not in {KG}, ignored")
    return assemble(
        folder.name,
        interactions=inter,
        user_ids=user_ids,
        item_ids=item_ids,
        items=items,
        kg=kg,
        entity_ids=entity_ids,
        relation_names=relations,
        report=report,
        entity_names=names,
        users=users,
    )
