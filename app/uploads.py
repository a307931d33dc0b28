"""Uploaded dataset zips: extracted safely into the workspace, then validated by core.data.

No streamlit here. The archive is checked before anything is written: no absolute paths or `..`
(zip slip), no links, bounded total size; then `load_dataset` validates the files themselves.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path, PurePosixPath

from core.data import DataError, Dataset, load_dataset

MAX_BYTES = 200 * 1024 * 1024  # uncompressed total


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


def extract_dataset_zip(data: bytes, name: str, uploads_dir: Path) -> tuple[Path, Dataset]:
    """Extract the zip to `uploads_dir/<stem>-<hash>/` and load it; bad input raises DataError.

    A single top-level folder inside the archive is accepted (its content is the dataset).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("not a zip archive", path=name) from None
    with zf:
        members = _members(zf, name)
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:40] or "upload"
        target = uploads_dir / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}"
        target.mkdir(parents=True, exist_ok=True)
        for info in members:
            dest = target.joinpath(*PurePosixPath(info.filename).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(info))
    tops = {PurePosixPath(m.filename).parts[0] for m in members}
    only = target / next(iter(tops)) if len(tops) == 1 else None
    folder = only if only is not None and only.is_dir() else target
    return folder, load_dataset(folder)
