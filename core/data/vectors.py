"""Embedding tables exported by another system: one vector per raw user or item id.

Accepted files (`read_vectors`):
- Parquet or CSV whose FIRST column is the raw id and whose other columns are the vector, one
  number per column (`item,v0,v1,...`), or one column holding the whole vector as a list
  (Parquet list column; in CSV a JSON list such as "[0.1, -0.3]");
- `.npy` (float [N, d]) with an id file (`--user-ids` / `--item-ids`): one raw id a line, line n
  naming row n.

`align_vectors` puts a table in a dataset's internal-id order and refuses, naming the file, the
row and what was expected: an id the dataset does not have, an id given twice, a dataset id with
no vector, a row of another length, and a value that is not a finite number. Nothing is dropped.
Loading reads numbers only (`np.load(allow_pickle=False)`): no code runs from a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import IdMap
from core.data.errors import DataError

TABLE_SUFFIXES = (".parquet", ".csv", ".npy")


@dataclass(frozen=True)
class VectorTable:
    """ids: raw ids, one per row; vectors: float32 [N, d]; where(row) names a row for messages
    ("line 7" for CSV and id files, "row 7" for Parquet)."""

    path: str
    ids: tuple[str, ...]
    vectors: np.ndarray
    first_line: int  # the file line (1-based) of row 0; 0: rows are numbered, not lines

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def where(self, row: int) -> str:
        return f"line {row + self.first_line}" if self.first_line else f"row {row + 1}"


def read_vectors(path: str | Path, ids_path: str | Path | None = None) -> VectorTable:
    """Read one embedding table (see the module docstring); raises DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path, ids_path)
    if ids_path is not None:
        raise DataError(
            "an id file goes only with a .npy table (ids are its first column)", path=path
        )
    if suffix == ".csv":
        frame, first_line = _read_csv(path), 2
    elif suffix == ".parquet":
        frame, first_line = _read_parquet(path), 0
    else:
        raise DataError(
            f"unknown table type {suffix!r}; expected one of {TABLE_SUFFIXES}", path=path
        )
    if frame.shape[1] < 2:
        raise DataError(
            "expected an id column and the vector (columns or one list column)", path=path
        )
    ids = tuple(str(v) for v in frame.iloc[:, 0])
    table = VectorTable(str(path), ids, np.zeros((len(ids), 0), np.float32), first_line)
    return VectorTable(str(path), ids, _matrix(frame.iloc[:, 1:], table), first_line)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DataError(
            f"not a readable CSV table ({str(err).splitlines()[0]})", path=path
        ) from None
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise DataError(
            f"not a readable Parquet table ({str(err).splitlines()[0]})", path=path
        ) from None


def _read_npy(path: Path, ids_path: str | Path | None) -> VectorTable:
    if ids_path is None:
        raise DataError(
            "a .npy table needs an id file (one raw id a line, in row order)", path=path
        )
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(
            f"not a numeric .npy array ({str(err).splitlines()[0]})", path=path
        ) from None
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise DataError(
            f"expected a 2-d numeric array, got shape {arr.shape} of {arr.dtype}", path=path
        )
    ids_path = Path(ids_path)
    if not ids_path.is_file():
        raise DataError("no such id file", path=ids_path)
    lines = ids_path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != len(arr):
        raise DataError(
            f"{len(lines)} ids for the {len(arr)} rows of {path.name}; expected one id a line",
            path=ids_path,
        )
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError("empty id", path=ids_path, line=n)
    table = VectorTable(str(ids_path), tuple(s.strip() for s in lines), arr, 1)
    _check_finite(table, arr.astype(np.float64), str(path))
    return VectorTable(str(path), table.ids, arr.astype(np.float32), 1)


def _matrix(values: pd.DataFrame, table: VectorTable) -> np.ndarray:
    """float32 [N, d] from vector columns, or from one list column."""
    if values.shape[1] == 1:
        rows = [_as_list(v, table, r) for r, v in enumerate(values.iloc[:, 0])]
        dims = {len(r) for r in rows}
        if len(dims) > 1:
            want = len(rows[0])
            bad = next(r for r, v in enumerate(rows) if len(v) != want)
            raise DataError(
                f"{table.where(bad)}: a vector of {len(rows[bad])} numbers; expected {want} "
                f"like {table.where(0)}",
                path=table.path,
            )
        out = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    else:
        out = np.empty(values.shape, dtype=np.float64)
        for c, name in enumerate(values.columns):
            col = pd.to_numeric(values.iloc[:, c], errors="coerce").to_numpy(np.float64)
            bad = np.flatnonzero(np.isnan(col) & ~_is_nan_text(values.iloc[:, c]))
            if len(bad):
                raise DataError(
                    f"{table.where(int(bad[0]))}: {values.iloc[int(bad[0]), c]!r} is not a number",
                    path=table.path,
                    column=str(name),
                )
            out[:, c] = col
    _check_finite(table, out, table.path)
    return out.astype(np.float32)


def _is_nan_text(col: pd.Series) -> np.ndarray:
    """Cells that spell a NaN (they are numbers, refused as not finite, not as text)."""
    if col.dtype != object:
        return np.ones(len(col), bool)
    return col.astype(str).str.strip().str.lower().isin(["nan", "-nan"]).to_numpy()


def _as_list(value, table: VectorTable, row: int) -> list[float]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(
                f"{table.where(row)}: {value[:40]!r} is not a JSON list of numbers", path=table.path
            ) from None
    try:
        out = [float(x) for x in value]
    except (TypeError, ValueError):
        raise DataError(
            f"{table.where(row)}: expected a list of numbers", path=table.path
        ) from None
    if not out:
        raise DataError(f"{table.where(row)}: an empty vector", path=table.path)
    return out


def _check_finite(table: VectorTable, values: np.ndarray, path: str) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = (int(x) for x in bad[0])
        raise DataError(
            f"{table.where(row)} (id {table.ids[row]!r}), value {col + 1}: {values[row, col]} "
            "is not a finite number",
            path=path,
        )


def align_vectors(table: VectorTable, idmap: IdMap, what: str) -> np.ndarray:
    """table.vectors re-ordered to idmap's internal ids: float32 [len(idmap), d].

    what: "user" or "item", for messages. Raises DataError naming the file and row for an id
    the dataset lacks, an id given twice, and naming the ids (a few, and how many) of the
    dataset that have no row."""
    out = np.zeros((len(idmap), table.dim), dtype=np.float32)
    first: dict[int, int] = {}
    for row, raw in enumerate(table.ids):
        idx = idmap.get(raw)
        if idx is None:
            raise DataError(
                f"{table.where(row)}: {what} id {raw!r} is not in the dataset "
                f"(its {what}s look like {', '.join(repr(r) for r in idmap.raw[:3])})",
                path=table.path,
            )
        if idx in first:
            raise DataError(
                f"{table.where(row)}: {what} id {raw!r} again (first at "
                f"{table.where(first[idx])}); expected one vector per id",
                path=table.path,
            )
        first[idx] = row
        out[idx] = table.vectors[row]
    if len(first) < len(idmap):
        missing = [idmap.to_raw(i) for i in range(len(idmap)) if i not in first]
        raise DataError(
            f"no vector for {len(missing)} of the dataset's {len(idmap)} {what}s "
            f"(e.g. {', '.join(repr(m) for m in missing[:3])}); expected one for every {what}",
            path=table.path,
        )
    return out
