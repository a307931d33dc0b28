"""Top-k lists dumped by a recommender RecLens cannot open (a black box).

A CSV or Parquet table with columns `user,item,rank[,score]`: raw ids as in the dataset, rank
1 for each user's first item. `read_lists` checks every row against the dataset and refuses,
naming the file, the line (CSV) or row (Parquet) and what was expected: a missing column, an id
the dataset lacks, a rank that is not a positive integer, a user listing an item twice or two
items at one rank, a score that is not a finite number. Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, IdMap
from core.data.errors import DataError

COLUMNS = ("user", "item", "rank")


@dataclass(frozen=True)
class TopLists:
    """Rows sorted by (user, rank). users, items: int64 [N] internal ids; ranks: int64 [N]
    (1 = first); scores: float64 [N] or None when the file has no score column."""

    path: str
    users: np.ndarray
    items: np.ndarray
    ranks: np.ndarray
    scores: np.ndarray | None

    @property
    def listed_users(self) -> np.ndarray:
        return np.unique(self.users)

    def pairs(self, users: np.ndarray | None = None, k: int | None = None) -> np.ndarray:
        """int64 [M, 2] (user, item) of the given users' lists (all users: None), cut at rank
        k when given."""
        keep = np.ones(len(self.users), bool)
        if users is not None:
            keep &= np.isin(self.users, users)
        if k is not None:
            keep &= self.ranks <= k
        return np.stack([self.users[keep], self.items[keep]], 1).astype(np.int64)

    def ranked(self, user: int) -> np.ndarray:
        """The user's listed items, best first: int64 [L]."""
        lo, hi = np.searchsorted(self.users, [user, user + 1])
        return self.items[lo:hi]


def read_lists(path: str | Path, dataset: Dataset) -> TopLists:
    """Read and check a lists file against `dataset` (see the module docstring)."""
    path = Path(path)
    frame, first_line = _read(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}; expected user,item,rank[,score] "
            f"(found {', '.join(map(str, frame.columns)) or 'none'})",
            path=path,
        )
    if frame.empty:
        raise DataError("no rows; expected at least one listed item", path=path)

    def where(row: int) -> dict:
        return {"line": row + first_line} if first_line else {}

    def at(row: int) -> str:
        return "" if first_line else f"row {row + 1}: "

    users = _ids(frame["user"], dataset.user_ids, "user", path, where, at)
    items = _ids(frame["item"], dataset.item_ids, "item", path, where, at)
    ranks = _ranks(frame["rank"], path, where, at)
    scores = _scores(frame["score"], path, where, at) if "score" in frame.columns else None
    user_raw, item_raw = frame["user"].astype(str), frame["item"].astype(str)
    _unique(
        users,
        items,
        lambda r: f"item {item_raw.iloc[r]!r} listed twice for user {user_raw.iloc[r]!r}",
        path,
        where,
        at,
    )
    _unique(
        users,
        ranks,
        lambda r: f"two items at rank {ranks[r]} for user {user_raw.iloc[r]!r}",
        path,
        where,
        at,
    )
    order = np.lexsort((ranks, users))
    return TopLists(
        str(path),
        users[order],
        items[order],
        ranks[order],
        None if scores is None else scores[order],
    )


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    if not path.is_file():
        raise DataError("no such file", path=path)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path).astype(str), 0
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False), 2
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataError(f"unreadable table ({str(err).splitlines()[0]})", path=path) from None
    raise DataError(f"unknown table type {path.suffix!r}; expected .csv or .parquet", path=path)


def _ids(col: pd.Series, idmap: IdMap, what: str, path, where, at) -> np.ndarray:
    out = np.empty(len(col), np.int64)
    for row, raw in enumerate(col.astype(str)):
        idx = idmap.get(raw.strip())
        if idx is None:
            raise DataError(
                f"{at(row)}{what} id {raw!r} is not in the dataset "
                f"(its {what}s look like {', '.join(repr(r) for r in idmap.raw[:3])})",
                path=path,
                column=what,
                **where(row),
            )
        out[row] = idx
    return out


def _ranks(col: pd.Series, path, where, at) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 1) | (values != np.round(values)))
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"{at(row)}rank {col.iloc[row]!r}: expected a positive whole number (1 = first)",
            path=path,
            column="rank",
            **where(row),
        )
    return values.astype(np.int64)


def _scores(col: pd.Series, path, where, at) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"{at(row)}score {col.iloc[row]!r}: expected a finite number",
            path=path,
            column="score",
            **where(row),
        )
    return values


def _unique(users, keys, describe, path, where, at) -> None:
    """Refuse the second row of any repeated (user, key), naming both rows;
    describe(row) -> what is repeated, in words."""
    seen: dict[tuple[int, int], int] = {}
    for row, pair in enumerate(zip(users.tolist(), keys.tolist(), strict=True)):
        if pair in seen:
            first = seen[pair]
            also = f"line {first + where(0)['line']}" if where(0) else f"row {first + 1}"
            raise DataError(f"{at(row)}{describe(row)} (also at {also})", path=path, **where(row))
        seen[pair] = row
