"""KGAT format: train.txt / test.txt (`user item item ...` per line), kg_final.txt (`head relation
tail` ints), optional user_list.txt / item_list.txt / entity_list.txt / relation_list.txt.

Raw ids are the files' own integer ids, so internal id == file id for users, items and entities
(item i is entity i in KGAT already). The *_list.txt files supply display names (item titles are
their `org_id`, e.g. an ASIN; entity and relation names their Freebase ids) and fix the counts.
Without kg_final.txt (amazon-book as distributed) the KG is empty and n_entities = n_items.
The given train/test split is kept in the `split` column; a repeated item on a user's line is
kept once and counted.
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap, LoadReport
from core.data.errors import DataError
from core.data.loaders._build import assemble, finish_kg
from core.data.loaders._io import read_text


def _ints(tokens: list[str], lengths: np.ndarray, lines: np.ndarray, path: Path) -> np.ndarray:
    """Tokens -> int64; a bad token is a DataError at its line (lengths: tokens per line)."""
    try:
        values = np.array(tokens, dtype=np.int64) if tokens else np.zeros(0, np.int64)
    except ValueError:
        bad = pd.to_numeric(pd.Series(tokens), errors="coerce").isna().to_numpy()
        i = int(np.flatnonzero(bad)[0])
        line = lines[np.searchsorted(np.cumsum(lengths), i, side="right")]
        raise DataError(
            f"expected integer ids, found {tokens[i]!r}", path=path, line=int(line)
        ) from None
    if (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        line = lines[np.searchsorted(np.cumsum(lengths), i, side="right")]
        raise DataError(f"expected ids >= 0, found {values[i]}", path=path, line=int(line))
    return values


def _split_file(path: Path, split: str, report: LoadReport) -> pd.DataFrame:
    """(user, item, line) rows of one `user item item ...` file, repeats on a line removed."""
    rows = [line.split() for line in read_text(path).splitlines()]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    lines = np.flatnonzero(lengths > 0) + 1
    rows = [r for r in rows if r]
    if not rows:
        raise DataError("file is empty (expected lines 'user item item ...')", path=path)
    lengths = lengths[lengths > 0]
    ids = _ints(list(chain.from_iterable(rows)), lengths, lines, path)
    is_user = np.zeros(len(ids), dtype=bool)
    is_user[np.cumsum(lengths) - lengths] = True
    frame = pd.DataFrame(
        {
            "user": np.repeat(ids[is_user], lengths - 1),
            "item": ids[~is_user],
            "_line": np.repeat(lines, lengths - 1),
        }
    )
    report.rows_read[path.name] = len(frame)
    if (lengths == 1).any():
        report.notes.append(f"{path.name}: {int((lengths == 1).sum())} user line(s) list no item")
    dup = frame.duplicated(subset=["user", "item"]).to_numpy()
    report.drop(path.name, "item repeated for the same user, kept once", int(dup.sum()))
    frame = frame.loc[~dup].reset_index(drop=True)
    report.rows_kept[path.name] = len(frame)
    frame["split"] = split
    return frame


def _list(path: Path, n_fields: int, report: LoadReport) -> pd.DataFrame | None:
    """An `org_id remap_id [...]` list; the org_id may hold spaces, so split from the right."""
    if not path.is_file():
        return None
    lines = read_text(path).splitlines()
    rows = [line.rsplit(" ", n_fields - 1) for line in lines[1:] if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != n_fields]
    if bad:
        raise DataError(f"expected {n_fields} space-separated fields", path=path, line=bad[0] + 2)
    frame = pd.DataFrame(rows, columns=lines[0].split()[:n_fields] if lines else None)
    remap = pd.to_numeric(frame.iloc[:, 1], errors="coerce")
    if not np.array_equal(remap.to_numpy(), np.arange(len(frame))):
        raise DataError(
            "expected remap_id to run 0, 1, 2, ... in order", path=path, column="remap_id"
        )
    report.rows_read[path.name] = len(frame)
    return frame


def _check_range(frame: pd.DataFrame, col: str, n: int, path_of: dict, what: str) -> None:
    over = np.flatnonzero(frame[col].to_numpy() >= n)
    if len(over):
        i = int(over[0])
        raise DataError(
            f"{what} id {frame[col].iat[i]} cannot be mapped: the {what} list has ids 0..{n - 1}",
            path=path_of[frame["split"].iat[i]],
            line=int(frame["_line"].iat[i]),
        )


def _kg(folder: Path, n_items: int, report: LoadReport) -> pd.DataFrame | None:
    path = folder / "kg_final.txt"
    if not path.is_file():
        report.notes.append("no kg_final.txt: the KG is empty and the only entities are the items")
        return None
    text = read_text(path)
    rows = text.split()
    if len(rows) % 3:
        counts = [len(line.split()) for line in text.splitlines()]
        line = next(i for i, c in enumerate(counts) if c not in (0, 3)) + 1
        raise DataError("expected 3 integers (head relation tail)", path=path, line=line)
    n = len(rows) // 3
    ids = _ints(rows, np.full(n, 3), np.arange(1, n + 1), path).reshape(-1, 3)
    report.rows_read[path.name] = n
    kg = pd.DataFrame(ids, columns=["head", "relation", "tail"])
    return finish_kg(kg, n_items, path, path.name, report)


def load_kgat(folder: Path) -> Dataset:
    """Load a KGAT-format folder (see module docstring)."""
    report = LoadReport()
    paths = {"train": folder / "train.txt", "test": folder / "test.txt"}
    inter = pd.concat([_split_file(p, s, report) for s, p in paths.items()], ignore_index=True)
    user_list = _list(folder / "user_list.txt", 2, report)
    item_list = _list(folder / "item_list.txt", 3, report)
    n_users = len(user_list) if user_list is not None else int(inter["user"].max()) + 1
    n_items = len(item_list) if item_list is not None else int(inter["item"].max()) + 1
    _check_range(inter, "user", n_users, paths, "user")
    _check_range(inter, "item", n_items, paths, "item")
    kg = _kg(folder, n_items, report)
    entity_names, relation_names = _kg_names(folder, kg, n_items, report)
    titles = item_list.iloc[:, 0].tolist() if item_list is not None else None
    items = pd.DataFrame({"title": titles or [f"item {i}" for i in range(n_items)]})
    if item_list is not None and item_list.shape[1] > 2:
        items["freebase_id"] = item_list.iloc[:, 2].to_numpy()
    users = None if user_list is None else pd.DataFrame({"org_id": user_list.iloc[:, 0].to_numpy()})
    item_ids = IdMap(tuple(str(i) for i in range(n_items)))
    empty = pd.DataFrame({c: np.zeros(0, np.int64) for c in ("head", "relation", "tail")})
    return assemble(
        folder.name,
        interactions=inter.drop(columns=["_line"]),
        user_ids=IdMap(tuple(str(u) for u in range(n_users))),
        item_ids=item_ids,
        items=items,
        kg=kg if kg is not None else empty,
        entity_ids=IdMap(tuple(str(e) for e in range(n_items + len(entity_names)))),
        relation_names=relation_names,
        report=report,
        entity_names={str(n_items + i): name for i, name in enumerate(entity_names)},
        users=users,
    )


def _kg_names(folder: Path, kg: pd.DataFrame | None, n_items: int, report: LoadReport):
    """Names of the non-item entities and of the relations, sized to the KG."""
    if kg is None:
        return [], ()
    n_entities = max(int(kg[["head", "tail"]].to_numpy().max()) + 1, n_items)
    n_relations = int(kg["relation"].max()) + 1
    entity_list = _list(folder / "entity_list.txt", 2, report)
    relation_list = _list(folder / "relation_list.txt", 2, report)
    names = [str(e) for e in range(n_items, n_entities)]
    if entity_list is not None:
        if len(entity_list) < n_entities:
            raise DataError(
                f"kg_final.txt uses entity ids up to {n_entities - 1}",
                path=folder / "entity_list.txt",
            )
        names = entity_list.iloc[n_items:, 0].tolist()
    relations = [f"r{r}" for r in range(n_relations)]
    if relation_list is not None:
        if len(relation_list) < n_relations:
            raise DataError(
                f"kg_final.txt uses relation ids up to {n_relations - 1}",
                path=folder / "relation_list.txt",
            )
        relations = relation_list.iloc[:, 0].tolist()
    return names, tuple(relations)
