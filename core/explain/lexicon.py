"""One lexicon of every name in a dataset, and one table that puts relations into words.

The grounding checker finds entity mentions in free text against the *whole* dataset, not only
against the evidence: a name the evidence lacks is exactly what it must catch. Matching is
token-based (case-insensitive, word-bounded, longest match first), so it scales to datasets with
100k entities where one giant regex alternation would not.

Node ids follow core.explain.base: "i:7" for item 7 (which is also entity 7), "e:1503" for a
non-item entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.explain.base import node_id

_TOKEN = re.compile(r"\w+", re.UNICODE)
_ARTICLES = ("the ", "a ", "an ")

# Single-token names that are function words would turn every "a" or "you" into an entity
# mention; such one-word names are never matched (multi-word names containing them are).
STOPWORDS = frozenset(
    "a an the and or of in on at to for by with from as is are was be it its this that these "
    "those you your yours we our they their them he she his her i me my not no so but if than "
    "then also both all any one some more most like liked because which who what".split()
)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(lower-cased token, start, end) for every word of `text`."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class Mention:
    """One span of a text that names a lexicon entry (possibly ambiguous between ids)."""

    start: int
    end: int
    text: str
    ids: tuple[str, ...]  # every node id with this surface form


@dataclass(frozen=True)
class Lexicon:
    """Surface forms (names and aliases) of every item and entity of a dataset.

    Matching ignores case, except that a one-word name written with capitals in the data
    ("History", "Moon") is only a mention when the text capitalises it too: in lower case it is
    the everyday word.

    names: node id -> display name. _index: first token -> [(token tuple, ids)], longest first.
    """

    names: dict[str, str]
    _index: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = field(repr=False)
    _proper: frozenset[str] = field(repr=False, default=frozenset())  # one-word names, capitalised

    @classmethod
    def from_names(cls, entity_names: Sequence[str], n_items: int) -> Lexicon:
        """Entity i is item i for i < n_items (the Dataset convention)."""
        names = {
            node_id("i" if i < n_items else "e", i): str(n) for i, n in enumerate(entity_names)
        }
        forms: dict[tuple[str, ...], list[str]] = {}
        for nid, name in names.items():
            for alias in aliases(name):
                key = tuple(t for t, _, _ in tokens(alias))
                if not key or (len(key) == 1 and key[0] in STOPWORDS):
                    continue
                forms.setdefault(key, []).append(nid)
        index: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for key, ids in forms.items():
            index.setdefault(key[0], []).append((key, tuple(dict.fromkeys(ids))))
        for entries in index.values():
            entries.sort(key=lambda e: -len(e[0]))
        proper = frozenset(
            k[0]
            for k, ids in forms.items()
            if len(k) == 1 and not all(_lower(names[i]) for i in ids)
        )
        return cls(names=names, _index=index, _proper=proper)

    @classmethod
    def from_context(cls, ctx) -> Lexicon:
        """The lexicon of an ExplainContext's dataset (its entity names)."""
        return cls.from_names(ctx.entity_names, ctx.n_items)

    def name(self, nid: str) -> str:
        return self.names.get(nid, "")

    def find(self, text: str) -> list[Mention]:
        """Every non-overlapping mention in `text`, left to right, longest match first."""
        toks = tokens(text)
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            hit = self._match_at(toks, i, text)
            if hit is None:
                i += 1
                continue
            n, ids = hit
            start, end = toks[i][1], toks[i + n - 1][2]
            out.append(Mention(start, end, text[start:end], ids))
            i += n
        return out

    def _match_at(self, toks, i: int, text: str = "") -> tuple[int, tuple[str, ...]] | None:
        for key, ids in self._index.get(toks[i][0], ()):
            n = len(key)
            if i + n <= len(toks) and all(toks[i + j][0] == key[j] for j in range(n)):
                if n == 1 and key[0] in self._proper and _lower(text[toks[i][1] : toks[i][2]]):
                    continue  # "your history" is a word; "History" is the genre
                return n, ids
        return None


def _lower(word: str) -> bool:
    return word == word.lower()


def aliases(name: str) -> list[str]:
    """The name itself and, for 'The X' / 'A X' / 'An X', also 'X' (how prose refers to it)."""
    out = [name]
    low = name.lower()
    for art in _ARTICLES:
        rest = name[len(art) :]
        if low.startswith(art) and len(rest.strip()) >= 4:
            out.append(rest)
    return out


# Relation key -> phrases that state it, the role noun first where the relation has one (an
# entity with no name is called by it: "shares an actor with ..."). Relations not listed fall
# back to their readable last part ("film.film.language" -> "language"). "interacted" has none:
# "you liked" is said of every history item and is checked through the entities instead.
VERBALISATIONS: dict[str, tuple[str, ...]] = {
    "directed_by": ("directed by", "directed", "director", "directors", "directs"),
    "starring": ("starring", "stars", "starred", "star", "actor", "actors", "actress", "cast"),
    "actor": ("actor", "actors", "actress", "starring", "stars", "starred", "star", "cast"),
    "genre": ("genre", "genres"),
    "studio": ("studio", "studios", "produced by", "made by"),
    "country": ("country", "countries"),
    "decade": ("decade", "decades"),
    "interacted": (),
    "written_by": ("written by", "writer", "writers", "author", "authored by"),
    "author": ("written by", "writer", "author", "authored by"),
    "produced_by": ("produced by", "producer", "producers"),
    "production_companies": ("production company", "production companies", "produced by"),
    "award_won": ("award", "awards", "won"),
    "award_nomination": ("award nomination", "award nominations", "nominated", "nomination"),
    "language": ("language", "languages"),
    "rating": ("content rating", "content ratings"),
    "subjects": ("subject", "subjects"),
    "cinematography": ("cinematographer", "cinematography", "shot by"),
    "sequel": ("sequel", "sequels"),
    "prequel": ("prequel", "prequels"),
}

# Freebase-style inverse relations name the other end ("film.director.film"): their key is the
# relation they invert, so both directions read the same.
_INVERSE_KEYS: dict[str, str] = {
    "director": "directed_by",
    "producer": "produced_by",
    "writer": "written_by",
    "actor": "actor",
    "film_genre": "genre",
    "production_company": "production_companies",
    "content_rating": "rating",
    "film_subject": "subjects",
    "cinematographer": "cinematography",
}

# The role noun of a relation's entities when it is not the first phrase ("starring" -> actor).
_ROLE_NOUNS = {"starring": "actor", "studio": "studio", "author": "writer", "written_by": "writer"}


def relation_key(relation: str) -> str:
    """'~directed_by' -> 'directed_by'; 'film.film.genre' -> 'genre';
    'film.director.film' -> 'directed_by'."""
    base = relation.lstrip("~").replace("/", ".").rstrip(".")
    if base in VERBALISATIONS:
        return base
    parts = base.split(".")
    if len(parts) >= 2 and parts[-1] in ("film", "films", "films_in_this_genre"):
        return _INVERSE_KEYS.get(parts[-2], parts[-2])
    return parts[-1]


def relation_phrases(relation: str) -> tuple[str, ...]:
    """The phrases that state `relation` in prose."""
    key = relation_key(relation)
    if key in VERBALISATIONS:
        return VERBALISATIONS[key]
    return (key.replace("_", " "),)


def role_noun(relation: str) -> str:
    """What an entity at the far end of `relation` is ('actor', 'director', 'genre')."""
    key = relation_key(relation)
    if key in _ROLE_NOUNS:
        return _ROLE_NOUNS[key]
    nouns = [p for p in relation_phrases(relation) if " by" not in p and not p.endswith("ed")]
    return nouns[0] if nouns else key.replace("_", " ")


def verbalise(relation: str) -> str:
    """The one phrase used to write a hop ('directed by'); '' for interactions."""
    phrases = relation_phrases(relation)
    return phrases[0] if phrases else ""


@dataclass(frozen=True)
class RelationFinder:
    """Finds relation phrases of a set of relations in text, as (start, end, relation keys)."""

    phrases: dict[tuple[str, ...], frozenset[str]]

    @classmethod
    def for_relations(cls, relations: Iterable[str]) -> RelationFinder:
        table: dict[tuple[str, ...], set[str]] = {}
        for rel in relations:
            for phrase in relation_phrases(rel):
                key = tuple(t for t, _, _ in tokens(phrase))
                table.setdefault(key, set()).add(relation_key(rel))
        return cls({k: frozenset(v) for k, v in table.items() if k})

    def find(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        toks = tokens(text)
        keys = sorted(self.phrases, key=len, reverse=True)
        out, i = [], 0
        while i < len(toks):
            for key in keys:
                n = len(key)
                if tuple(t for t, _, _ in toks[i : i + n]) == key:
                    out.append((toks[i][1], toks[i + n - 1][2], self.phrases[key]))
                    i += n
                    break
            else:
                i += 1
        return out
