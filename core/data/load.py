"""`load_dataset`: find the format of a folder and load it into one validated `Dataset`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from core.data.dataset import Dataset
from core.data.errors import DataError
from core.data.implicit import to_implicit
from core.data.loaders.csv_folder import load_csv_folder
from core.data.loaders.kgat import load_kgat
from core.data.loaders.kgcn import load_kgcn
from core.data.loaders.movielens import load_movielens
from core.data.loaders.recbole import load_recbole

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
LOADERS: dict[str, Callable[[Path], Dataset]] = {
    "csv": load_csv_folder,
    "movielens": load_movielens,
    "kgat": load_kgat,
    "recbole": load_recbole,
    "kgcn": load_kgcn,
}
FORMATS = tuple(LOADERS)


def _loader(fmt: str) -> Callable[[Path], Dataset]:
    if fmt not in LOADERS:
        raise DataError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return LOADERS[fmt]


def detect_format(folder: Path) -> str:
    """The format whose marker files the folder holds (checked in a fixed order)."""
    files = {p.name for p in folder.iterdir() if p.is_file()}
    if "interactions.csv" in files:
        return "csv"
    if {"u.data", "u.item"} & files or {"ratings.dat", "movies.dat"} & files:
        return "movielens"
    if any(f.endswith(".inter") for f in files):
        return "recbole"
    if {"train.txt", "test.txt", "kg_final.txt"} & files:
        return "kgat"
    if {"user_artists.dat", "item_index2entity_id.txt"} & files:
        return "kgcn"
    raise DataError(
        "cannot tell the format: expected interactions.csv (csv), u.data or ratings.dat "
        "(movielens), NAME.inter (recbole), train.txt/test.txt (kgat) or user_artists.dat (kgcn)",
        path=folder,
    )


def resolve_path(path: str | Path) -> Path:
    """The word "sample" means the bundled sample data; anything else is a folder path."""
    folder = SAMPLE_DIR if str(path) == "sample" else Path(path)
    if not folder.is_dir():
        raise DataError(
            "dataset folder not found (expected a folder or the word 'sample')", path=folder
        )
    return folder


def load_dataset(
    path: str | Path, format: str | None = None, *, implicit_threshold: float | None = None
) -> Dataset:
    """Load a dataset folder in any supported format; bad input raises DataError.

    format: one of FORMATS, or None to detect it from the folder's files.
    implicit_threshold: if given, keep only interactions with rating >= threshold (reported).
    """
    folder = resolve_path(path)
    fmt = format or detect_format(folder)
    ds = _loader(fmt)(folder)
    if str(path) == "sample":
        # The bundled data is called "sample" everywhere (CLI, artifacts, URLs), not "sample_data".
        ds = dataclasses.replace(ds, name="sample")
    if implicit_threshold is not None:
        ds = to_implicit(ds, implicit_threshold)
    return ds
