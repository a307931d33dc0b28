"""MovieLens-100K (u.data, u.item, u.user) and MovieLens-1M (ratings.dat, movies.dat, users.dat).

Genres and release years become KG triples: item -genre-> "genre:Comedy", item -release_year->
"year:1995" and item -decade-> "decade:1990s" (namespaced raw ids, so a year never collides with a
numeric item id; display names drop the prefix). GroupLens files predate UTF-8: a file that is not
valid UTF-8 is read as Latin-1, and the report says so. Users follow u.user / users.dat order.
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
    map_ids,
    parse_rows,
    read_text,
    to_number,
    unique_ids,
)

GENRES_100K = (
    "unknown Action Adventure Animation Children's Comedy Crime Documentary Drama Fantasy "
    "Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western"
).split()
RATING_COLUMNS = ["user", "item", "rating", "timestamp"]
RELATIONS = ("genre", "release_year", "decade")


def _text(path: Path, report: LoadReport) -> str:
    try:
        return read_text(path)
    except DataError as err:
        if not path.is_file():
            raise
        where = f"line {err.line}" if err.line else "somewhere"
        report.notes.append(f"{path.name}: not UTF-8 at {where}; read as Latin-1 (GroupLens files)")
        return read_text(path, encoding="latin-1")


def _table(path: Path, sep: str, columns: list[str], report: LoadReport) -> pd.DataFrame:
    text = _text(path, report)
    if len(sep) > 1:  # the csv module splits on one character; '::' never occurs inside a field
        text, sep = text.replace(sep, "\x1f"), "\x1f"
    frame = parse_rows(text, path, sep=sep, columns=columns, quoting=False)
    report.rows_read[path.name] = len(frame)
    return frame


def _year_triples(items: pd.Series, years: pd.Series, lines: pd.Series, report, file: str):
    ok = years.notna().to_numpy()
    if not ok.all():
        report.notes.append(f"{file}: {int((~ok).sum())} item(s) without a release year: no year")
    year = years[ok].astype(int)
    n = int(ok.sum())
    return pd.DataFrame(
        {
            "head": np.concatenate([items[ok].to_numpy()] * 2),
            "relation": ["release_year"] * n + ["decade"] * n,
            "tail": np.concatenate(
                [_prefixed("year:", year), _prefixed("decade:", year // 10 * 10, "s")]
            ),
            LINE: np.concatenate([lines[ok].to_numpy()] * 2),
        }
    )


def _raw_array(item_ids: IdMap) -> np.ndarray:
    return np.array(item_ids.raw, dtype=object)


def _prefixed(prefix: str, values: pd.Series, suffix: str = "") -> np.ndarray:
    return (prefix + values.astype(str) + suffix).to_numpy()


def _items_100k(folder: Path, report: LoadReport):
    genres = GENRES_100K
    if (folder / "u.genre").is_file():
        gframe = _table(folder / "u.genre", "|", ["name", "id"], report)
        genres = gframe["name"].str.strip().tolist()
    columns = ["item", "title", "release_date", "video_release_date", "imdb_url", *genres]
    frame = _table(folder / "u.item", "|", columns, report)
    item_ids = unique_ids(frame, "item", folder / "u.item")
    flags = frame[genres].to_numpy() == "1"
    rows, cols = np.nonzero(flags)
    genre_kg = pd.DataFrame(
        {
            "head": _raw_array(item_ids)[rows],
            "relation": "genre",
            "tail": np.array(["genre:" + g for g in genres], dtype=object)[cols],
            LINE: frame[LINE].to_numpy()[rows],
        }
    )
    years = frame["release_date"].str.extract(r"(\d{4})\s*$")[0].astype(float)
    year_kg = _year_triples(pd.Series(item_ids.raw), years, frame[LINE], report, "u.item")
    items = pd.DataFrame(
        {
            "title": frame["title"].to_numpy(),
            "release_date": frame["release_date"].to_numpy(),
            "genres": ["|".join(np.array(genres)[f]) for f in flags],
        }
    )
    return item_ids, items, pd.concat([genre_kg, year_kg], ignore_index=True)


def _items_1m(folder: Path, report: LoadReport):
    frame = _table(folder / "movies.dat", "::", ["item", "title", "genres"], report)
    item_ids = unique_ids(frame, "item", folder / "movies.dat")
    per_item = frame["genres"].str.split("|")
    exploded = per_item.explode()
    keep = exploded.str.strip().ne("").to_numpy()
    idx = exploded.index.to_numpy()[keep]
    genre_kg = pd.DataFrame(
        {
            "head": _raw_array(item_ids)[idx],
            "relation": "genre",
            "tail": ("genre:" + exploded[keep].str.strip()).to_numpy(),
            LINE: frame[LINE].to_numpy()[idx],
        }
    )
    years = frame["title"].str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
    year_kg = _year_triples(pd.Series(item_ids.raw), years, frame[LINE], report, "movies.dat")
    items = pd.DataFrame({"title": frame["title"].to_numpy(), "genres": frame["genres"].to_numpy()})
    return item_ids, items, pd.concat([genre_kg, year_kg], ignore_index=True)


def _users(path: Path, sep: str, columns: list[str], report: LoadReport):
    if not path.is_file():
        return None, None
    frame = _table(path, sep, columns, report)
    user_ids = unique_ids(frame, "user", path)
    report.rows_kept[path.name] = len(frame)
    return user_ids, frame.drop(columns=["user", LINE]).reset_index(drop=True)


def load_movielens(folder: Path) -> Dataset:
    """MovieLens-100K if u.data is present, else MovieLens-1M (ratings.dat)."""
    report = LoadReport()
    if (folder / "u.data").is_file() or (folder / "u.item").is_file():
        rating_file, sep = folder / "u.data", "\t"
        item_ids, items, kg_raw = _items_100k(folder, report)
        kg_path = folder / "u.item"
        user_cols = ["user", "age", "gender", "occupation", "zip_code"]
        user_ids, users = _users(folder / "u.user", "|", user_cols, report)
    else:
        rating_file, sep = folder / "ratings.dat", "::"
        item_ids, items, kg_raw = _items_1m(folder, report)
        kg_path = folder / "movies.dat"
        user_cols = ["user", "gender", "age", "occupation", "zip_code"]
        user_ids, users = _users(folder / "users.dat", "::", user_cols, report)
    report.rows_kept[kg_path.name] = len(items)
    frame = _table(rating_file, sep, RATING_COLUMNS, report)
    raw_users, lines = clean_ids(frame["user"]), frame[LINE]
    if user_ids is None:
        order = sorted(first_seen(raw_users.to_numpy()), key=lambda u: (len(u), u))
        user_ids = IdMap(tuple(order))
    inter = pd.DataFrame(
        {
            "user": map_ids(raw_users, user_ids, rating_file, lines, "user", "user"),
            "item": map_ids(clean_ids(frame["item"]), item_ids, rating_file, lines, "item", "item"),
            "rating": to_number(frame, "rating", rating_file, integer=False).to_numpy(),
            "timestamp": to_number(frame, "timestamp", rating_file, integer=True).to_numpy(),
        }
    )
    inter = dedupe_interactions(inter, rating_file.name, report)
    report.rows_kept[rating_file.name] = len(inter)
    relations = [r for r in RELATIONS if (kg_raw["relation"] == r).any()]
    kg, entity_ids, relations = build_kg(
        kg_raw, item_ids, kg_path, report, relation_order=relations, label="kg"
    )
    names = {e: e.split(":", 1)[1] for e in entity_ids.raw[len(item_ids) :]}
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
