"""Deterministic generator of RecLens's embedded sample dataset (`sample_data/`).

A made-up movie catalogue with a knowledge graph (genre, directed_by, starring, decade, studio,
country) and users whose interactions are planted: each user has 1-3 "taste drivers" (KG
entities) and most of their interactions are items linked to a driver, the rest popularity noise.
The drivers go to `ground_truth.csv`, so explanations can be scored against known answers.

Output is the CSV-folder format read by `core.data.load_dataset`. The same config writes
byte-identical files: one seeded numpy Generator, integers only, sorted rows, "\\n" line ends.

Regenerate with `python -m core.data.sample sample_data`.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data import _sample_text as words
from core.data.sample_catalog import (
    RELATIONS,
    Catalog,
    SampleConfig,
    build_catalog,
    entity_id,
    entity_items,
    item_id,
    user_id,
)

# Driver kinds and how often a user gets one; specific entities (people, studios) dominate so
# that an explanation naming the driver is meaningful.
DRIVER_KINDS = (("directed_by", 0.40), ("starring", 0.30), ("studio", 0.15), ("genre", 0.15))
DEFAULT_CONFIG = SampleConfig()  # writes the committed sample_data/
FILES = ("interactions.csv", "items.csv", "kg.csv", "entities.csv", "ground_truth.csv", "README.md")


@dataclass(frozen=True)
class UserRows:
    """Generated interactions and planted drivers, rows ready to write."""

    interactions: list[tuple[str, str, int, int]]  # user, item, rating, timestamp
    drivers: list[tuple[str, str, str]]  # user, driver entity raw id, relation


def _driver_candidates(
    catalog: Catalog, cfg: SampleConfig
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per driver relation: eligible entities and a choice weight proportional to their degree."""
    index = entity_items(catalog)
    out = {}
    for rel, _ in DRIVER_KINDS:
        prefix = entity_id(rel, "")  # "<kind>:"
        floor = cfg.min_driver_items if rel in ("directed_by", "starring") else 1
        ents = sorted(
            e for e, items in index.items() if e.startswith(prefix) and len(items) >= floor
        )
        deg = np.array([len(index[e]) for e in ents], dtype=float)
        out[rel] = (ents, deg / deg.sum())
    return out


def _draw_drivers(rng: np.random.Generator, cands: dict, index: dict) -> list[tuple[str, str]]:
    """1-3 distinct (entity, relation) drivers; one more is added while their items number < 25."""
    kinds = [k for k, _ in DRIVER_KINDS]
    p_kind = np.array([p for _, p in DRIVER_KINDS])
    k = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20]))
    drivers: list[tuple[str, str]] = []
    while len(drivers) < k or (len(drivers) < 3 and len(_pool(drivers, index)) < 25):
        rel = kinds[int(rng.choice(len(kinds), p=p_kind))]
        ents, p = cands[rel]
        ent = ents[int(rng.choice(len(ents), p=p))]
        if ent not in [e for e, _ in drivers]:
            drivers.append((ent, rel))
    return drivers


def _pool(drivers: list[tuple[str, str]], index: dict) -> np.ndarray:
    if not drivers:
        return np.zeros(0, dtype=int)
    return np.unique(np.concatenate([index[e] for e, _ in drivers]))


def _user_items(
    rng: np.random.Generator, cfg: SampleConfig, pool: np.ndarray, pop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Item numbers of one user's history and whether each was drawn from the driver pool."""
    span = cfg.max_interactions - cfg.min_interactions
    n = cfg.min_interactions + int(round(span * rng.random() ** 2.5))  # long tail of activity
    share = rng.beta(15.0, 15.0 * (1 - cfg.driver_share) / cfg.driver_share)
    n_drv = min(int(round(share * n)), int(0.8 * len(pool)))
    n = max(cfg.min_interactions, min(n, int(round(n_drv / share))))
    p_pool = np.sqrt(pop[pool]) / np.sqrt(pop[pool]).sum()
    drv = rng.choice(pool, size=n_drv, replace=False, p=p_pool)
    rest = np.setdiff1d(np.arange(len(pop)), drv)
    noise = rng.choice(rest, size=n - n_drv, replace=False, p=pop[rest] / pop[rest].sum())
    items = np.concatenate([drv, noise])
    from_driver = np.arange(n) < n_drv
    order = rng.permutation(n)  # driver and noise items interleave in time
    return items[order], from_driver[order]


# Rating distributions (1..5): users like their drivers' items more than popular noise.
_P_RATING_DRIVER = [0.02, 0.05, 0.18, 0.40, 0.35]
_P_RATING_NOISE = [0.10, 0.20, 0.35, 0.25, 0.10]


def build_users(rng: np.random.Generator, cfg: SampleConfig, catalog: Catalog) -> UserRows:
    index = entity_items(catalog)
    cands = _driver_candidates(catalog, cfg)
    inter, drivers = [], []
    for u in range(cfg.n_users):
        planted = _draw_drivers(rng, cands, index)
        items, from_driver = _user_items(rng, cfg, _pool(planted, index), catalog.popularity)
        liked = rng.choice(5, size=len(items), p=_P_RATING_DRIVER) + 1
        ratings = np.where(
            from_driver, liked, rng.choice(5, size=len(items), p=_P_RATING_NOISE) + 1
        )
        start = cfg.start_time + int(rng.integers(0, 6 * 365 * 86400))
        gaps = np.round(rng.exponential(3 * 86400, size=len(items))).astype(np.int64) + 1
        times = start + np.cumsum(gaps)  # strictly increasing per user
        inter += [
            (user_id(u), item_id(int(i)), int(r), int(t))
            for i, r, t in zip(items, ratings, times, strict=True)
        ]
        drivers += [(user_id(u), e, rel) for e, rel in planted]
    return UserRows(interactions=inter, drivers=sorted(drivers))


# --------------------------------------------------------------------------- writing


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _kg_rows(catalog: Catalog) -> list[tuple[str, str, str]]:
    return sorted(
        (item_id(i), rel, t)
        for i, lk in enumerate(catalog.links)
        for rel, ts in lk.items()
        for t in ts
    )


def _item_rows(catalog: Catalog) -> list[tuple[str, ...]]:
    """item, title, year and readable attribute columns (several genres joined by '|')."""
    attrs = ("genre", "directed_by", "studio", "country")
    return [
        (item_id(i), catalog.titles[i], str(catalog.years[i]))
        + tuple("|".join(catalog.names[t] for t in lk[rel]) for rel in attrs)
        for i, lk in enumerate(catalog.links)
    ]


def driver_share(rows: UserRows, catalog: Catalog) -> float:
    """Share of all interactions whose item is linked to one of its user's drivers."""
    index = {e: set(v.tolist()) for e, v in entity_items(catalog).items()}
    by_user: dict[str, set[int]] = {}
    for u, e, _ in rows.drivers:
        by_user.setdefault(u, set()).update(index[e])
    hits = sum(int(item[1:]) - 1 in by_user[u] for u, item, _, _ in rows.interactions)
    return hits / len(rows.interactions)


def write_sample(out_dir: str | Path, cfg: SampleConfig = DEFAULT_CONFIG) -> dict[str, int]:
    """Generate the sample into `out_dir` (created if absent) and return its counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    catalog = build_catalog(rng, cfg)
    rows = build_users(rng, cfg, catalog)
    kg = _kg_rows(catalog)
    interactions = sorted(rows.interactions, key=lambda r: (r[0], r[3]))
    _write_csv(out / "interactions.csv", ("user", "item", "rating", "timestamp"), interactions)
    _write_csv(
        out / "items.csv",
        ("item", "title", "year", "genre", "director", "studio", "country"),
        _item_rows(catalog),
    )
    _write_csv(out / "kg.csv", ("head", "relation", "tail"), kg)
    _write_csv(out / "entities.csv", ("entity", "name"), sorted(catalog.names.items()))
    _write_csv(out / "ground_truth.csv", ("user", "driver", "relation"), rows.drivers)
    counts = {
        "users": cfg.n_users,
        "items": cfg.n_items,
        "interactions": len(interactions),
        "entities": cfg.n_items + len(catalog.names),
        "relations": len(RELATIONS),
        "triples": len(kg),
        "drivers": len(rows.drivers),
        "driver_share_permille": round(1000 * driver_share(rows, catalog)),
    }
    ex_user, ex_driver, ex_rel = rows.drivers[0]
    share = counts["driver_share_permille"] / 10
    readme = words.README.format(
        cfg=cfg, share=share, ex_user=ex_user, ex_driver=ex_driver, ex_rel=ex_rel, **counts
    )
    (out / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    cfg = SampleConfig()
    if len(args) == 3 and args[1] == "--users":  # python -m core.data.sample OUT --users N
        try:
            cfg = SampleConfig.scaled(int(args[2]))
        except ValueError as err:
            print(f"error: --users: {err}", file=sys.stderr)
            return 2
        args = args[:1]
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m core.data.sample OUT_DIR [--users N]", file=sys.stderr)
        return 2
    counts = write_sample(args[0], cfg)
    print(", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
