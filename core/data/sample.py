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

RELATIONS = ("genre", "directed_by", "starring", "decade", "studio", "country")
# Driver kinds and how often a user gets one; specific entities (people, studios) dominate so
# that an explanation naming the driver is meaningful.
DRIVER_KINDS = (("directed_by", 0.40), ("starring", 0.30), ("studio", 0.15), ("genre", 0.15))
# Entity raw ids are "<kind>:<name>", e.g. "director:Ava Quist"; the kind per relation:
_PREFIX = dict(
    zip(RELATIONS, ("genre", "director", "actor", "decade", "studio", "country"), strict=True)
)
FILES = ("interactions.csv", "items.csv", "kg.csv", "entities.csv", "ground_truth.csv", "README.md")


@dataclass(frozen=True)
class SampleConfig:
    """Sizes and knobs of the sample; the defaults produce the committed `sample_data/`."""

    seed: int = 20240917  # the one source of randomness
    n_users: int = 1000
    n_items: int = 1500
    n_directors: int = 150
    n_actors: int = 600
    min_interactions: int = 20  # per user
    max_interactions: int = 80  # per user
    driver_share: float = 0.77  # mean planted share of a user's interactions from driver items
    popularity_exponent: float = 0.8  # Zipf exponent of item popularity (noise interactions)
    min_driver_items: int = 8  # a person must be linked to this many items to be a driver
    start_time: int = 1420070400  # 2015-01-01 UTC; user histories start within 6 years of it

    @classmethod
    def scaled(cls, n_users: int, n_items: int | None = None, seed: int = 20240917):
        """The default sample's planted structure at another size (the cost-curve knob).

        n_items defaults to 1500 * sqrt(n_users / 1000) (catalogues grow slower than their
        audiences); directors and actors keep the default's 10 % and 40 % of the items, so the
        KG grows with the catalogue (about 7 triples per item). Per-user activity (20-80
        interactions) and the planted drivers are unchanged, so interactions grow with users.
        `scaled(1000)` is the default configuration, which writes the committed sample_data/.
        """
        if n_users < 1:
            raise ValueError(f"n_users must be positive, got {n_users}")
        items = n_items if n_items is not None else round(1500 * (n_users / 1000) ** 0.5)
        if items < 100:
            raise ValueError(f"n_items must be at least 100 (drivers need items), got {items}")
        return cls(
            seed=seed,
            n_users=n_users,
            n_items=items,
            n_directors=max(10, items // 10),
            n_actors=max(40, items * 2 // 5),
        )


@dataclass(frozen=True)
class Catalog:
    """Items and their KG links, all as Python lists indexed by item number (0-based)."""

    titles: list[str]
    years: list[int]
    links: list[dict[str, list[str]]]  # relation -> entity raw ids (tails) per item
    names: dict[str, str]  # entity raw id -> display name (non-item entities only)
    popularity: np.ndarray  # float [n_items], sums to 1


@dataclass(frozen=True)
class UserRows:
    """Generated interactions and planted drivers, rows ready to write."""

    interactions: list[tuple[str, str, int, int]]  # user, item, rating, timestamp
    drivers: list[tuple[str, str, str]]  # user, driver entity raw id, relation


def item_id(i: int) -> str:
    return f"m{i + 1:04d}"


def user_id(u: int) -> str:
    return f"u{u + 1:04d}"


def entity_id(relation: str, name: str) -> str:
    return f"{_PREFIX[relation]}:{name}"


# --------------------------------------------------------------------------- catalogue


def _unique_strings(rng: np.random.Generator, n: int, make, capacity: int) -> list[str]:
    """Draw `make(rng)` until n distinct strings exist; order of first draw is kept.

    capacity: about how many distinct strings `make` can produce. A larger sample than half of
    it numbers its strings ("Ava Quist 3"), so the draws never run dry (the default sample
    stays far below and is unaffected).
    """
    if 2 * n > capacity:
        copies = -(-2 * n // capacity)
        plain = make
        make = lambda r: f"{plain(r)} {int(r.integers(1, copies + 1))}"  # noqa: E731
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(make(rng), None)
    return list(seen)


def _pick(rng: np.random.Generator, seq: Sequence[str]) -> str:
    return seq[int(rng.integers(len(seq)))]


def _title(rng: np.random.Generator) -> str:
    pattern = _pick(rng, words.TITLE_PATTERNS)
    return pattern.format(
        adj=_pick(rng, words.ADJECTIVES),
        noun=_pick(rng, words.NOUNS),
        noun2=_pick(rng, words.NOUNS),
        place=_pick(rng, words.PLACES),
        time=_pick(rng, words.TIMES),
    )


# A lower bound on the distinct titles `_title` makes ("The {adj} {noun} of {place}" alone).
_TITLE_CAPACITY = len(words.ADJECTIVES) * len(words.NOUNS) * len(words.PLACES)


def _person(rng: np.random.Generator) -> str:
    return f"{_pick(rng, words.FIRST_NAMES)} {_pick(rng, words.LAST_NAMES)}"


def _weights(rng: np.random.Generator, n: int, shape: float) -> np.ndarray:
    """Gamma-distributed popularity weights: a few prolific entities, a long tail."""
    w = rng.gamma(shape, 1.0, size=n)
    return w / w.sum()


def _mostly(rng: np.random.Generator, p_home: float, home: int, weights: np.ndarray) -> int:
    """`home` with probability p_home, otherwise a draw weighted by `weights`."""
    return int(home) if rng.random() < p_home else int(rng.choice(len(weights), p=weights))


def _distinct(rng: np.random.Generator, k: int, p: np.ndarray, first: list[int]) -> list[int]:
    """`first` (already chosen, distinct) topped up to k distinct draws weighted by p."""
    chosen = list(first)
    while len(chosen) < k:
        c = int(rng.choice(len(p), p=p))
        if c not in chosen:
            chosen.append(c)
    return chosen


@dataclass(frozen=True)
class _Directors:
    names: list[str]
    genres: np.ndarray  # int [D, 2] favourite genres
    studio: np.ndarray  # int [D] home studio
    country: np.ndarray  # int [D] home country
    era: np.ndarray  # int [D] centre year of the career
    troupe: np.ndarray  # int [D, 8] actors they like to cast


def _directors(
    rng: np.random.Generator, cfg: SampleConfig, people: list[str], w: dict
) -> _Directors:
    d = cfg.n_directors
    genres = np.array([_distinct(rng, 2, w["genre"], []) for _ in range(d)])
    return _Directors(
        names=people[:d],
        genres=genres,
        studio=rng.choice(len(w["studio"]), size=d, p=w["studio"]),
        country=rng.choice(len(w["country"]), size=d, p=w["country"]),
        era=rng.integers(1955, 2021, size=d),
        troupe=np.array([_distinct(rng, 8, w["actor"], []) for _ in range(d)]),
    )


def _item_links(
    rng: np.random.Generator, dirs: _Directors, director: int, year: int, w: dict, actors: list[str]
) -> dict[str, list[str]]:
    """One item's tails per relation; a director's items share genres, studio, country, cast."""
    n_genres = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
    first = [int(rng.choice(dirs.genres[director]))] if rng.random() < 0.75 else []
    genres = _distinct(rng, n_genres, w["genre"], first)
    studio = _mostly(rng, 0.6, dirs.studio[director], w["studio"])
    country = _mostly(rng, 0.85, dirs.country[director], w["country"])
    n_cast = int(rng.integers(3, 6))
    cast = [_mostly(rng, 0.5, rng.choice(dirs.troupe[director]), w["actor"]) for _ in range(n_cast)]
    cast = _distinct(rng, n_cast, w["actor"], list(dict.fromkeys(cast)))
    return {
        "genre": [entity_id("genre", words.GENRES[g]) for g in genres],
        "directed_by": [entity_id("directed_by", dirs.names[director])],
        "starring": [entity_id("starring", actors[a]) for a in cast],
        "decade": [entity_id("decade", f"{year // 10 * 10}s")],
        "studio": [entity_id("studio", words.STUDIOS[studio])],
        "country": [entity_id("country", words.COUNTRIES[country])],
    }


def build_catalog(rng: np.random.Generator, cfg: SampleConfig) -> Catalog:
    """Titles, years, KG links and Zipf-like popularity of every item."""
    n_people = len(words.FIRST_NAMES) * len(words.LAST_NAMES)
    people = _unique_strings(rng, cfg.n_directors + cfg.n_actors, _person, n_people)
    actors = people[cfg.n_directors :]
    # Countries follow a fixed Zipf over the listed order (most films from the first ones).
    country = 1.0 / np.arange(1, len(words.COUNTRIES) + 1)
    w = {
        "genre": _weights(rng, len(words.GENRES), 1.2),
        "studio": _weights(rng, len(words.STUDIOS), 3.0),
        "country": country / country.sum(),
        "actor": _weights(rng, len(actors), 1.5),
    }
    dirs = _directors(rng, cfg, people, w)
    # Every director makes at least 3 films; the rest follow a skewed productivity.
    extra = rng.multinomial(cfg.n_items - 3 * cfg.n_directors, _weights(rng, cfg.n_directors, 1.5))
    director_of = rng.permutation(np.repeat(np.arange(cfg.n_directors), extra + 3))
    years = np.clip(dirs.era[director_of] + np.round(rng.normal(0, 6, cfg.n_items)), 1950, 2024)
    years = years.astype(int).tolist()
    links = [
        _item_links(rng, dirs, int(d), y, w, actors)
        for d, y in zip(director_of, years, strict=True)
    ]
    ranks = rng.permutation(cfg.n_items) + 1
    popularity = ranks.astype(float) ** -cfg.popularity_exponent
    return Catalog(
        titles=_unique_strings(rng, cfg.n_items, _title, _TITLE_CAPACITY),
        years=years,
        links=links,
        names={t: t.split(":", 1)[1] for lk in links for tails in lk.values() for t in tails},
        popularity=popularity / popularity.sum(),
    )


# --------------------------------------------------------------------------- users


def entity_items(catalog: Catalog) -> dict[str, np.ndarray]:
    """Entity raw id -> sorted item numbers linked to it (any relation)."""
    index: dict[str, list[int]] = {}
    for i, lk in enumerate(catalog.links):
        for tails in lk.values():
            for t in tails:
                index.setdefault(t, []).append(i)
    return {e: np.array(sorted(set(v))) for e, v in index.items()}


def _driver_candidates(
    catalog: Catalog, cfg: SampleConfig
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per driver relation: eligible entities and a choice weight proportional to their degree."""
    index = entity_items(catalog)
    out = {}
    for rel, _ in DRIVER_KINDS:
        prefix = _PREFIX[rel] + ":"
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


def write_sample(out_dir: str | Path, cfg: SampleConfig = SampleConfig()) -> dict[str, int]:
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
