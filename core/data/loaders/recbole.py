"""RecBole atomic files: NAME.inter, NAME.item, NAME.user, NAME.kg, NAME.link.

Headers are typed (`user_id:token`); the type suffix is dropped. `.link` maps item_id ->
entity_id: a linked KG entity becomes that item (item i is entity i), the other KG entities follow
in first-seen order. Pre-split benchmark files NAME.train.inter / NAME.valid.inter /
NAME.test.inter are kept exactly as given, as the `split` column. RecBole allows items and users
that appear only in .inter; they are appended after the .item / .user rows and counted in the
report notes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap, LoadReport
from core.data.errors import DataError
from core.data.loaders._build import assemble, build_kg, dedupe_interactions
from core.data.loaders._io import (
    LINE,
    clean_ids,
    first_seen,
    parse_rows,
    read_text,
    require_columns,
    to_number,
    unique_ids,
)

SPLITS = ("train", "valid", "test")


def _atomic(path: Path, required: list[str], report: LoadReport) -> pd.DataFrame:
    """An atomic file with its `name:type` header reduced to `name`."""
    frame = parse_rows(read_text(path), path, sep="\t", quoting=False)
    frame.columns = [c.split(":", 1)[0] if c != LINE else c for c in frame.columns]
    require_columns(frame, path, required, ", ".join(f"{c}:token" for c in required))
    report.rows_read[path.name] = len(frame)
    return frame


def _dataset_name(folder: Path) -> str:
    names = sorted({p.name.split(".")[0] for p in folder.glob("*.inter")})
    if not names:
        raise DataError("no NAME.inter or NAME.train.inter file found", path=folder)
    return folder.name if folder.name in names else names[0]


def _inter_files(folder: Path, name: str) -> list[tuple[Path, str | None]]:
    split_files = [(folder / f"{name}.{s}.inter", s) for s in SPLITS]
    if any(p.is_file() for p, _ in split_files):
        for p, _ in split_files:
            if not p.is_file():
                raise DataError(
                    "benchmark split file missing (expected train, valid, test)", path=p
                )
        return split_files
    return [(folder / f"{name}.inter", None)]


def _read_interactions(files, report: LoadReport) -> pd.DataFrame:
    """All interaction files as one frame of raw ids (+ rating, timestamp, split as given)."""
    parts = []
    for path, split in files:
        frame = _atomic(path, ["user_id", "item_id"], report)
        part = pd.DataFrame(
            {"user": clean_ids(frame["user_id"]), "item": clean_ids(frame["item_id"])}
        )
        if "rating" in frame.columns:
            part["rating"] = to_number(frame, "rating", path, integer=False).to_numpy()
        if "timestamp" in frame.columns:
            # RecBole types timestamps as float; ours are int64 seconds, so fractions are floored.
            stamps = to_number(frame, "timestamp", path, integer=False)
            part["timestamp"] = np.floor(stamps.to_numpy()).astype(np.int64)
        if split is not None:
            part["split"] = split
        part["_file"] = path.name
        parts.append(part)
    columns = set.intersection(*(set(p.columns) for p in parts))
    return pd.concat([p[[c for c in p.columns if c in columns]] for p in parts], ignore_index=True)


def _id_table(path: Path, col: str, seen: list[str], what: str, report: LoadReport):
    """(IdMap, attribute table) from an optional .item/.user file plus ids seen only in .inter."""
    table = None
    ids: list[str] = []
    if path.is_file():
        table = _atomic(path, [col], report)
        ids = list(unique_ids(table, col, path).raw)
        report.rows_kept[path.name] = len(table)
    extra = pd.Index(seen).difference(pd.Index(ids), sort=False).tolist() if ids else seen
    if ids and extra:
        report.notes.append(
            f"{len(extra)} {what}(s) appear only in .inter; appended after {path.name}"
        )
    return IdMap(tuple(ids + extra)), table


def _items_frame(table: pd.DataFrame | None, item_ids: IdMap) -> pd.DataFrame:
    attrs = table.drop(columns=["item_id", LINE]) if table is not None else pd.DataFrame()
    title_col = next((c for c in ("movie_title", "title", "name") if c in attrs.columns), None)
    n_extra = len(item_ids) - len(attrs)
    items = pd.concat([attrs, pd.DataFrame(index=range(n_extra))], ignore_index=True)
    titles = items[title_col] if title_col else pd.Series([None] * len(items))
    items["title"] = titles.where(titles.notna() & (titles != ""), pd.Series(item_ids.raw))
    return items


def _link(folder: Path, name: str, item_ids: IdMap, report: LoadReport) -> dict[str, str]:
    """KG entity id -> item raw id, from NAME.link."""
    path = folder / f"{name}.link"
    frame = _atomic(path, ["item_id", "entity_id"], report)
    items, ents = clean_ids(frame["item_id"]), clean_ids(frame["entity_id"])
    known = items.isin(pd.Index(item_ids.raw)).to_numpy()
    report.drop(path.name, "item_id not among the items", int((~known).sum()))
    dup = (items.duplicated() | ents.duplicated()).to_numpy() & known
    report.drop(path.name, "item or entity linked twice, first link kept", int(dup.sum()))
    keep = known & ~dup
    report.rows_kept[path.name] = int(keep.sum())
    unlinked = len(item_ids) - int(keep.sum())
    report.notes.append(f"{unlinked} item(s) have no {path.name} entry: kept, with no KG edges")
    return dict(zip(ents[keep], items[keep], strict=True))


def _kg(folder: Path, name: str, item_ids: IdMap, report: LoadReport) -> pd.DataFrame | None:
    path = folder / f"{name}.kg"
    if not path.is_file():
        return None
    frame = _atomic(path, ["head_id", "relation_id", "tail_id"], report)
    link = _link(folder, name, item_ids, report)
    kg = pd.DataFrame({LINE: frame[LINE]})
    items = pd.Index(item_ids.raw)
    for src, dst in (("head_id", "head"), ("tail_id", "tail")):
        ents = clean_ids(frame[src])
        clash = (ents.isin(items) & ~ents.isin(pd.Index(list(link)))).to_numpy()
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            raise DataError(
                f"unlinked entity {ents.iat[i]!r} has the same id as an item; rename it or link it",
                path=path,
                line=int(frame[LINE].iat[i]),
                column=src,
            )
        kg[dst] = ents.map(link).fillna(ents)
    kg["relation"] = clean_ids(frame["relation_id"])
    return kg


def load_recbole(folder: Path) -> Dataset:
    """Load RecBole atomic files (see module docstring)."""
    report = LoadReport()
    name = _dataset_name(folder)
    raw = _read_interactions(_inter_files(folder, name), report)
    user_ids, user_table = _id_table(
        folder / f"{name}.user", "user_id", first_seen(raw["user"].to_numpy()), "user", report
    )
    item_ids, item_table = _id_table(
        folder / f"{name}.item", "item_id", first_seen(raw["item"].to_numpy()), "item", report
    )
    inter = raw.drop(columns=["_file"])
    inter["user"] = pd.Index(user_ids.raw).get_indexer(raw["user"].to_numpy())
    inter["item"] = pd.Index(item_ids.raw).get_indexer(raw["item"].to_numpy())
    kept = []
    for file, rows in inter.groupby(raw["_file"], sort=False):
        kept.append(dedupe_interactions(rows, file, report))
        report.rows_kept[file] = len(kept[-1])
    inter = pd.concat(kept, ignore_index=True)
    kg_raw = _kg(folder, name, item_ids, report)
    kg, entity_ids, relations = build_kg(kg_raw, item_ids, folder / f"{name}.kg", report)
    users = None
    if user_table is not None:
        users = user_table.drop(columns=["user_id", LINE])
        users = users.reindex(range(len(user_ids))).reset_index(drop=True)
    return assemble(
        folder.name,
        interactions=inter,
        user_ids=user_ids,
        item_ids=item_ids,
        items=_items_frame(item_table, item_ids),
        kg=kg,
        entity_ids=entity_ids,
        relation_names=relations,
        report=report,
        users=users,
    )
