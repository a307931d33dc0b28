"""The sample's catalogue: a made-up movie catalogue with its knowledge graph (genre,
directed_by, starring, decade, studio, country), item popularity and the raw ids of items, users
and entities. `core.data.sample` plants users' tastes on it and writes the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data import _sample_text as words

RELATIONS = ("genre", "directed_by", "starring", "decade", "studio", "country")
# Entity raw ids are "<kind>:<name>", e.g. "director:Ava Quist"; the kind per relation:
_PREFIX = dict(
    zip(RELATIONS, ("genre", "director", "actor", "decade", "studio", "country"), strict=True)
)


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
