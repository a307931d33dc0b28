"""KGCN's Last.FM folder: user_artists.dat (hetrec2011, `userID artistID weight` with header),
item_index2entity_id.txt (`artistID entity_id`, no header) and kg.txt (`head relation tail`,
integer entities, string relations), the latter two with CRLF line endings.

Every artist in user_artists.dat is an item, in numeric id order; artists without a KG link stay
items with no KG edges (they are not dropped; the report counts them). A linked KG entity is its
artist; the other KG entities get raw ids "kg:<id>" (after the items, in first-seen order), so
they never collide with artist ids. `rating` holds the listening count (`weight`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap, LoadReport
from core.data.errors import DataError
from core.data.loaders._build import assemble, build_kg, dedupe_interactions
from core.data.loaders._io import LINE, clean_ids, parse_rows, read_text, require_columns, to_number

RATINGS, LINK, KG = "user_artists.dat", "item_index2entity_id.txt", "kg.txt"


def _table(folder: Path, file: str, columns: list[str] | None, report: LoadReport):
    path = folder / file
    frame = parse_rows(read_text(path), path, sep="\t", columns=columns, quoting=False)
    report.rows_read[file] = len(frame)
    return frame, path


def _numeric_ids(frame: pd.DataFrame, col: str, path: Path) -> tuple[IdMap, np.ndarray]:
    """IdMap of an integer id column's distinct values in numeric order, and each row's id."""
    distinct, codes = np.unique(to_number(frame, col, path, integer=True), return_inverse=True)
    return IdMap(tuple(str(v) for v in distinct)), codes.astype(np.int64)


def _link(folder: Path, item_ids: IdMap, report: LoadReport) -> dict[str, str]:
    """KG entity id -> artist raw id."""
    frame, path = _table(folder, LINK, ["item", "entity"], report)
    items = to_number(frame, "item", path, integer=True).astype(str)
    ents = to_number(frame, "entity", path, integer=True).astype(str)
    known = items.isin(pd.Index(item_ids.raw)).to_numpy()
    report.drop(LINK, "artist absent from user_artists.dat", int((~known).sum()))
    dup = (items.duplicated() | ents.duplicated()).to_numpy() & known
    report.drop(LINK, "artist or entity linked twice, first link kept", int(dup.sum()))
    keep = known & ~dup
    report.rows_kept[LINK] = int(keep.sum())
    report.notes.append(
        f"{len(item_ids) - int(keep.sum())} artist(s) have no KG link: kept as items, no KG edges"
    )
    return dict(zip(ents[keep], items[keep], strict=True))


def load_kgcn(folder: Path) -> Dataset:
    """Load the KGCN Last.FM folder (see module docstring)."""
    report = LoadReport()
    frame, path = _table(folder, RATINGS, None, report)
    require_columns(frame, path, ["userid", "artistid", "weight"], "userID, artistID, weight")
    user_ids, users = _numeric_ids(frame, "userid", path)
    item_ids, items = _numeric_ids(frame, "artistid", path)
    weight = to_number(frame, "weight", path, integer=False).to_numpy()
    inter = pd.DataFrame({"user": users, "item": items, "rating": weight})
    inter = dedupe_interactions(inter, RATINGS, report)
    report.rows_kept[RATINGS] = len(inter)
    report.notes.append(f"{RATINGS}: rating = listening count (weight)")
    link = _link(folder, item_ids, report)
    kg_frame, kg_path = _table(folder, KG, ["head", "relation", "tail"], report)
    kg_raw = pd.DataFrame({LINE: kg_frame[LINE], "relation": clean_ids(kg_frame["relation"])})
    for col in ("head", "tail"):
        ents = to_number(kg_frame, col, kg_path, integer=True).astype(str)
        kg_raw[col] = ents.map(link).fillna("kg:" + ents)
    if kg_raw.empty:
        raise DataError("file has no triples", path=kg_path)
    kg, entity_ids, relations = build_kg(kg_raw, item_ids, kg_path, report)
    return assemble(
        folder.name,
        interactions=inter,
        user_ids=user_ids,
        item_ids=item_ids,
        items=pd.DataFrame({"title": [f"artist {a}" for a in item_ids.raw]}),
        kg=kg,
        entity_ids=entity_ids,
        relation_names=relations,
        report=report,
    )
