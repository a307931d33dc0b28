"""Uploaded dataset zips: extracted safely, validated, kept only when they load.

No streamlit here. The archive is checked before anything is written: no absolute paths or `..`
(zip slip), no links, bounded total size. It is extracted into a hidden staging folder, where the
CSV files are first checked line by line (every problem of a file is listed, up to
MAX_ERRORS_PER_FILE) and then loaded by `load_dataset`; messages name the file as it is inside
the zip (`data.zip/interactions.csv, line 3, column 'item': ...`), never the server's path. A
rejected upload leaves nothing behind; an accepted one is renamed to `<stem>-<hash>/`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from core.data import DataError, Dataset, load_dataset

MAX_BYTES = 200 * 1024 * 1024  # uncompressed total
MAX_ERRORS_PER_FILE = 20
# CSV folder format (core/data/loaders/csv_folder.py): required columns, and which are numbers
REQUIRED = {
    "interactions.csv": ("user", "item"),
    "items.csv": ("item", "title"),
    "users.csv": ("user",),
    "kg.csv": ("head", "relation", "tail"),
    "entities.csv": ("entity", "name"),
}
NUMERIC = {"interactions.csv": ("rating", "timestamp")}
FREE_TEXT = ("title", "name")  # may be empty


def _members(zf: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    files, total = [], 0
    for info in zf.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise DataError(f"unsafe path '{info.filename}' in the archive", path=name)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise DataError(f"symbolic link '{info.filename}' in the archive", path=name)
        total += info.file_size
        if total > MAX_BYTES:
            raise DataError(f"archive expands to more than {MAX_BYTES // 2**20} MiB", path=name)
        if not info.is_dir() and not path.name.startswith(".") and "__MACOSX" not in path.parts:
            files.append(info)
    if not files:
        raise DataError("the archive contains no files", path=name)
    return files


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def lint_csv(path: Path, shown: str) -> list[str]:
    """Every problem of one CSV file of the CSV folder format, as messages naming `shown`, the
    line (1-based, the header is line 1) and the column; at most MAX_ERRORS_PER_FILE, then a
    count of the rest."""
    required, numeric = REQUIRED.get(path.name, ()), NUMERIC.get(path.name, ())
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except UnicodeDecodeError as err:
        return [f"{shown}: not UTF-8 text ({err.reason} at byte {err.start})"]
    except csv.Error as err:
        return [f"{shown}: not CSV ({err})"]
    if not rows:
        return [f"{shown}: file is empty (expected a header line and data rows)"]
    header = [h.strip() for h in rows[0]]
    errors = [
        f"{shown}, line 1, column '{col}': missing column; expected {','.join(required)}"
        for col in required
        if col not in header
    ]
    index = {col: header.index(col) for col in (*required, *numeric) if col in header}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            errors.append(
                f"{shown}, line {line}: {len(row)} fields, expected {len(header)} as in the header"
            )
            continue
        for col, i in index.items():
            value = row[i].strip()
            if col in required and col not in FREE_TEXT and not value:
                errors.append(f"{shown}, line {line}, column '{col}': expected a non-empty id")
            elif col in numeric and value and not _number(value):
                errors.append(
                    f"{shown}, line {line}, column '{col}': expected a number, found {value!r}"
                )
    return _capped(errors)


def _capped(errors: list[str]) -> list[str]:
    if len(errors) <= MAX_ERRORS_PER_FILE:
        return errors
    rest = len(errors) - MAX_ERRORS_PER_FILE
    return errors[:MAX_ERRORS_PER_FILE] + [f"... and {rest} more problem(s) in this file"]


def _references(folder: Path, shown: str) -> list[str]:
    """Interactions whose item is not in items.csv (every such line, capped)."""
    items_path, inter_path = folder / "items.csv", folder / "interactions.csv"
    if not (items_path.is_file() and inter_path.is_file()):
        return []
    items = {row.get("item", "").strip() for row in csv.DictReader(items_path.open())}
    errors = []
    for line, row in enumerate(csv.DictReader(inter_path.open()), start=2):
        item = (row.get("item") or "").strip()
        if item and item not in items:
            errors.append(
                f"{shown}/interactions.csv, line {line}, column 'item': item id {item!r} is "
                "not in items.csv"
            )
    return _capped(errors)


def _relative(folder: Path, staging: Path, name: str) -> str:
    inside = folder.relative_to(staging).as_posix()
    return name if inside == "." else f"{name}/{inside}"


def _check(folder: Path, staging: Path, name: str) -> Dataset:
    shown = _relative(folder, staging, name)
    problems = []
    for file in REQUIRED:
        if (folder / file).is_file():
            problems += lint_csv(folder / file, f"{shown}/{file}")
    problems += _references(folder, shown)
    if problems:
        raise DataError(f"{len(problems)} problem(s) found:\n" + "\n".join(problems), path=name)
    try:
        return load_dataset(folder)
    except DataError as err:  # name the file inside the zip, not the staging path
        raise DataError(str(err).replace(str(folder), shown)) from None


def extract_dataset_zip(data: bytes, name: str, uploads_dir: Path) -> tuple[Path, Dataset]:
    """Extract the zip to `uploads_dir/<stem>-<hash>/` and load it; bad input raises DataError
    (and leaves nothing in `uploads_dir`).

    A single top-level folder inside the archive is accepted (its content is the dataset).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("not a zip archive", path=name) from None
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:40] or "upload"
    target = uploads_dir / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}"
    staging = uploads_dir / f".staging-{uuid.uuid4().hex[:12]}"
    try:
        with zf:
            members = _members(zf, name)
            staging.mkdir(parents=True)
            for info in members:
                dest = staging.joinpath(*PurePosixPath(info.filename).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
        tops = {PurePosixPath(m.filename).parts[0] for m in members}
        only = staging / next(iter(tops)) if len(tops) == 1 else None
        folder = only if only is not None and only.is_dir() else staging
        _check(folder, staging, name)
        if target.exists():  # the same upload again
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    final = target / folder.relative_to(staging)
    return final, load_dataset(final)
