"""Shared reading and validation helpers for the loaders.

Every helper raises `DataError` naming the file and the line (1-based, the header counts as line 1)
or column, so each loader only states what it expects. Rows are kept as strings until a helper
converts a column, so a bad value is reported where it is, not as a pandas traceback.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import IdMap
from core.data.errors import DataError

LINE = "_line"  # column holding each row's 1-based line number in its file

# Raise the csv module's per-field limit: item attribute columns can be long text.
csv.field_size_limit(1 << 24)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Whole file as text; a missing file or undecodable byte is a DataError with its line."""
    if not path.is_file():
        raise DataError("file not found (expected it in this dataset folder)", path=path)
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataError(
            f"cannot decode byte 0x{raw[err.start]:02x} as {encoding}; save the file as {encoding}",
            path=path,
            line=line,
        ) from None
    return text.removeprefix("\ufeff")  # spreadsheet programs often write a UTF-8 BOM


def parse_rows(
    text: str,
    path: Path,
    *,
    sep: str = ",",
    columns: Sequence[str] | None = None,
    quoting: bool = True,
) -> pd.DataFrame:
    """Rows of a delimited text as a string DataFrame plus a `_line` column.

    columns: names for a header-less file; None means the first line is the header (names are
    stripped and lower-cased). Blank lines are skipped (they hold no data). Every other row must
    have exactly as many fields as the header.
    """
    mode = csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=mode))
    # A CRLF file read with QUOTE_NONE keeps no '\r' (csv handles it), so lines need no stripping.
    first = 0
    if columns is None:
        while first < len(rows) and not rows[first]:
            first += 1
        if first == len(rows):
            raise DataError("file is empty (expected a header line and data rows)", path=path)
        columns = [c.strip().lower() for c in rows[first]]
        first += 1
    body = rows[first:]
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    lines = np.arange(first + 1, first + 1 + len(body), dtype=np.int64)
    blank = lengths == 0
    bad = np.flatnonzero(~blank & (lengths != len(columns)))
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"expected {len(columns)} fields ({', '.join(columns)}) separated by {sep!r}, "
            f"found {lengths[i]}",
            path=path,
            line=int(lines[i]),
        )
    kept = [r for r, b in zip(body, blank, strict=True) if not b] if blank.any() else body
    if not kept:
        raise DataError("file has no data rows", path=path)
    frame = pd.DataFrame(kept, columns=list(columns), dtype=object)
    if _padded(text, sep):  # strip only when some field has surrounding spaces (it is slow)
        frame = frame.apply(lambda col: col.str.strip())
    frame[LINE] = lines[~blank]
    return frame


def _padded(text: str, sep: str) -> bool:
    """Whether any field may start or end with a space (one regex scan over the text)."""
    s = re.escape(sep)
    return re.search(rf"(?m)^[ \t]| {s}|{s} | \r?$", text) is not None


def require_columns(
    frame: pd.DataFrame, path: Path, required: Sequence[str], expected: str
) -> None:
    """DataError naming the first required column absent from the header."""
    present = [c for c in frame.columns if c != LINE]
    for col in required:
        if col not in frame.columns:
            raise DataError(
                f"missing column; expected header {expected}, found {','.join(present)}",
                path=path,
                column=col,
            )


def to_number(frame: pd.DataFrame, col: str, path: Path, *, integer: bool) -> pd.Series:
    """Column as int64 (integer=True) or float64; the first bad value is a DataError."""
    try:  # fast path: every value parses to a finite number
        fast = frame[col].astype(np.int64 if integer else np.float64)
        if integer or np.isfinite(fast.to_numpy()).all():
            return fast
    except (ValueError, TypeError, OverflowError):
        pass
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(np.float64, na_value=np.nan))
    if integer:
        bad |= ~bad & (values.fillna(0) % 1 != 0).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        raise DataError(
            f"expected {kind}, found {frame[col].iat[i]!r}",
            path=path,
            line=int(frame[LINE].iat[i]),
            column=col,
        )
    return values.astype(np.int64 if integer else np.float64)


def clean_ids(series: pd.Series) -> pd.Series:
    """Raw ids as strings (parse_rows already stripped them; '7' and '07' differ)."""
    return series.astype(str)


def map_ids(
    values: pd.Series, idmap: IdMap, path: Path, lines: pd.Series, column: str, what: str
) -> np.ndarray:
    """Raw ids -> internal int64 ids; an id absent from `idmap` is a DataError at its line."""
    index = pd.Index(idmap.raw)
    codes = index.get_indexer(values.to_numpy())
    missing = np.flatnonzero(codes < 0)
    if len(missing):
        i = int(missing[0])
        raise DataError(
            f"{what} id {values.iat[i]!r} cannot be mapped: it is not in the {what} list "
            f"({len(missing)} row(s) like this)",
            path=path,
            line=int(lines.iat[i]),
            column=column,
        )
    return codes.astype(np.int64)


def first_seen(*arrays: np.ndarray) -> list[str]:
    """Distinct values in order of first appearance, reading the arrays row by row together."""
    if not arrays:
        return []
    stacked = np.column_stack([np.asarray(a, dtype=object) for a in arrays]).ravel()
    return [str(v) for v in pd.unique(stacked)]


def require_nonempty(frame: pd.DataFrame, col: str, path: Path) -> None:
    """DataError at the first empty value of an id column."""
    empty = np.flatnonzero((frame[col].astype(str) == "").to_numpy())
    if len(empty):
        line = int(frame[LINE].iat[int(empty[0])])
        raise DataError("expected a non-empty id", path=path, line=line, column=col)


def unique_ids(frame: pd.DataFrame, col: str, path: Path) -> IdMap:
    """A column of distinct, non-empty raw ids (an id table such as items.csv) as an IdMap."""
    ids = clean_ids(frame[col])
    empty = np.flatnonzero((ids == "").to_numpy())
    if len(empty):
        raise DataError(
            "expected a non-empty id",
            path=path,
            line=int(frame[LINE].iat[int(empty[0])]),
            column=col,
        )
    dup = np.flatnonzero(ids.duplicated().to_numpy())
    if len(dup):
        i = int(dup[0])
        raise DataError(
            f"id {ids.iat[i]!r} appears more than once (expected each id once)",
            path=path,
            line=int(frame[LINE].iat[i]),
            column=col,
        )
    return IdMap(tuple(ids.tolist()))
