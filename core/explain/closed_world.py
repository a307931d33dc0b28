"""The closed-world half of the grounding check: every word of a text must be attributed.

The open-world checks of core.explain.grounding verify what they recognise (names of the dataset,
relation phrases, numbers, citations). This module accounts for everything else: a word that is
not part of an attributed span must belong to the discourse vocabulary
(`discourse_vocabulary.txt`, one reviewed file next to this module) or to the name of an evidence
entity or the verbalisation of an evidence relation. Anything left over (a name from world
knowledge, an award, a critic, a trend, a user story) is reported as `unsupported` with its span.

It also writes the attribution records the dashboard and the CLI show: which path, hop or
number each verified span rests on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.explain.evidence import Evidence
from core.explain.lexicon import (
    STOPWORDS,
    Mention,
    relation_key,
    relation_phrases,
    role_noun,
    tokens,
)

VOCABULARY_FILE = Path(__file__).with_name("discourse_vocabulary.txt")
_SECTION = re.compile(r"^\[[a-z_]+\]$")
_WORD = re.compile(r"^[a-z][a-z'\-]*$")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")

# Words a method's evidence states by itself: a popularity explanation is about popularity.
_METHOD_WORDS = {"popularity": ("popular", "popularity", "chose", "users")}

AttributionKind = Literal["entity", "relation", "number", "citation"]


@dataclass(frozen=True)
class Attribution:
    """One verified span of a text and what it rests on."""

    start: int
    end: int
    span: str
    kind: AttributionKind
    ids: tuple[str, ...]  # evidence node ids (entities), or () for numbers
    pids: tuple[str, ...]  # the evidence paths the span lies on (may be empty: a weight)
    what: str  # the fact in words, e.g. 'P1: "Gravity" directed by "Ridley Scott"'

    def to_dict(self) -> dict:
        return self.__dict__ | {"ids": list(self.ids), "pids": list(self.pids)}


@functools.cache
def discourse_vocabulary(path: Path = VOCABULARY_FILE) -> frozenset[str]:
    """The vocabulary file's words, as the tokens `lexicon.tokens` cuts them into. Raises
    ValueError naming the file and line of an entry that is not a lower-case word."""
    words: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or _SECTION.match(line):
            continue
        for w in line.split():
            if not _WORD.match(w):
                raise ValueError(f"{path.name} line {n}: {w!r} is not a lower-case word")
            words.update(t for t, _, _ in tokens(w))
    return frozenset(words | STOPWORDS)


def evidence_words(ev: Evidence) -> frozenset[str]:
    """Tokens of the evidence's names and of the verbalisations of its relations."""
    names = [ev.item_name] + [w.name for w in ev.weights]
    names += [n for p in ev.paths for h in p.hops for n in (h.src_name, h.dst_name)]
    if ev.counterfactual:
        names += list(ev.counterfactual.removed_names)
    rels = {lk.relation for lk in ev.links} | ev.attribute_relations
    phrases = [ph for r in rels for ph in relation_phrases(r)]
    phrases += list(_METHOD_WORDS.get(ev.method, ()))
    return frozenset(t for s in names + phrases for t, _, _ in tokens(s))


def unsupported_spans(
    text: str, taken: list[tuple[int, int]], allowed: frozenset[str], sentences
) -> list[tuple[int, int]]:
    """Runs of words outside `taken` spans and outside `allowed`, one run per stretch of text
    without an attributed span or a sentence end between its words; plus quoted or capitalised
    multi-word names that are not exactly an attributed span."""
    out: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    ends = {e for _, e in sentences}
    for tok, s, e in tokens(text):
        if _covered(s, e, taken) or tok in allowed:
            if _covered(s, e, taken) and run is not None:
                out.append(run)
                run = None
            continue
        if run is not None and not any(run[1] <= x <= s for x in ends):
            run = (run[0], e)
        else:
            if run is not None:
                out.append(run)
            run = (s, e)
    if run is not None:
        out.append(run)
    out += _invented_names(text, taken, out)
    return sorted(out)


def _covered(s: int, e: int, taken) -> bool:
    return any(a <= s and e <= b for a, b in taken)


def _invented_names(text: str, taken, found) -> list[tuple[int, int]]:
    """Quoted spans and runs of two or more capitalised words that no attributed span covers
    (a made-up title may be spelled with discourse words only: "The Other One")."""
    out = []
    for m in _QUOTED.finditer(text):
        s, e = m.span(1) if m.group(1) is not None else m.span(2)
        words = tokens(text[s:e])
        if not words:
            continue
        s, e = s + words[0][1], s + words[-1][2]  # a mention spans words, not punctuation
        if not any(a <= s and e <= b for a, b in taken) and not _overlaps(s, e, found):
            out.append((s, e))
    caps = [(s, e) for t, s, e in tokens(text) if text[s].isupper() and not _covered(s, e, taken)]
    i = 0
    while i < len(caps):
        j = i
        while j + 1 < len(caps) and text[caps[j][1] : caps[j + 1][0]] == " ":
            j += 1
        s, e = caps[i][0], caps[j][1]
        if j > i and not _overlaps(s, e, found + out):
            out.append((s, e))
        i = j + 1
    return out


def _overlaps(s: int, e: int, spans) -> bool:
    return any(a < e and s < b for a, b in spans)


# --- claims the word list alone cannot hold -------------------------------------------------

# a history word says the user liked the name next to it: "you liked X", "X, which you liked"
HISTORY_WORDS = frozenset(
    "liked enjoyed loved watched rated seen read listened interacted chose".split()
)
NEGATIONS = frozenset("not no never nor neither none".split())
_BETWEEN = re.compile(r'^[\s"“”,]*(?:(?:both|the|a|an)\s+[\s"“]*)?$', re.I)
_YOU = re.compile(r"\b(?:you|the user)\s+(?:have\s+|had\s+|also\s+|once\s+)?$", re.I)
_WHICH_YOU = re.compile(r"(?:which|that|who|whom)\s+(?:you|the user)\s+(?:have\s+|had\s+)?$", re.I)


def history_claims(text: str, s: int, e: int, mentions: list[Mention]):
    """(history word span, the mention it says the user liked) within sentence [s, e)."""
    out = []
    sent = [m for m in mentions if s <= m.start < e]
    for tok, ts, te in tokens(text[s:e]):
        if tok not in HISTORY_WORDS:
            continue
        ts, te = ts + s, te + s
        if not _YOU.search(text[s:ts]):
            continue  # "other users who liked X" says nothing of the user's history
        after = [m for m in sent if m.start >= te and _BETWEEN.match(text[te : m.start])]
        if after:
            out.append(((ts, te), after[0]))
            continue
        before = [m for m in sent if m.end <= ts]
        if before and _WHICH_YOU.search(text[before[-1].end : ts].lstrip(" ,")):
            out.append(((ts, te), before[-1]))
    return out


def liked_items(ev: Evidence) -> frozenset[str]:
    """Node ids the evidence says the user liked (interacted with)."""
    user = f"u:{ev.user}"
    out = {lk.a if lk.b == user else lk.b for lk in ev.links if lk.relation == "interacted"}
    return frozenset(out - {user})


def negated_relations(text: str, s: int, e: int, relation_spans) -> list[tuple[int, int]]:
    """Negation words in a sentence that states a relation: the check cannot tell a denied fact
    from a stated one, so it attributes neither."""
    if not any(s <= a < e for a, _ in relation_spans):
        return []
    return [(ts + s, te + s) for tok, ts, te in tokens(text[s:e]) if tok in NEGATIONS]


# --- attribution -----------------------------------------------------------------------------


def entity_attribution(m: Mention, ev: Evidence) -> Attribution:
    ids = tuple(i for i in m.ids if i in ev.entities)
    pids = tuple(p.pid for p in ev.paths if set(p.nodes) & set(ids))
    if ev.item in ids:
        what = f'the recommended item "{ev.item_name}" (rank {ev.rank})'
    elif pids:
        what = "on " + ", ".join(pids)
    else:
        kinds = {w.kind for w in ev.weights if w.id in ids}
        what = "weighted by the model" if kinds else "removed in the counterfactual"
    return Attribution(m.start, m.end, m.text, "entity", ids, pids, what)


def relation_attribution(text: str, s: int, e: int, rels, pool, ev: Evidence) -> Attribution:
    links = [lk for lk in pool if lk.relation in rels]
    pids = tuple(sorted({p for lk in links for p in lk.pids}))
    names = _names(ev)
    if links:
        lk = links[0]
        a, b = _oriented(lk, ev)
        if a.startswith("i:") and b.startswith("i:"):  # two items through one entity
            what = f'"{names.get(a, a)}" and "{names.get(b, b)}" share {role_noun(lk.relation)}s'
        else:
            phrase = (relation_phrases(lk.relation) or (lk.relation,))[0]
            what = f'"{names.get(a, a)}" {phrase} "{names.get(b, b)}"'
        ids: tuple[str, ...] = (lk.a, lk.b)
    else:
        what, ids = f"an attribute type the model weighted ({', '.join(sorted(rels))})", ()
    where = f" (on {', '.join(pids)})" if pids else ""
    return Attribution(s, e, text[s:e], "relation", ids, pids, what + where)


def _oriented(lk, ev: Evidence) -> tuple[str, str]:
    """The link's ends as the stored triple reads them (head, tail)."""
    for p in ev.paths:
        for h in p.hops:
            if {h.src, h.dst} == {lk.a, lk.b} and relation_key(h.relation) == lk.relation:
                return (h.dst, h.src) if h.relation.startswith("~") else (h.src, h.dst)
    return lk.a, lk.b


def number_attribution(text: str, s: int, e: int, label: str) -> Attribution:
    """label: what the evidence number the span equals (at its stated precision) is."""
    return Attribution(s, e, text[s:e], "number", (), (), label)


def citation_attribution(text: str, s: int, e: int, pids: list[str], ev: Evidence) -> Attribution:
    paths = {p.pid: p for p in ev.paths}
    what = "; ".join(
        f"{pid}: " + " -> ".join(_names(ev).get(n, n) for n in paths[pid].nodes) for pid in pids
    )
    return Attribution(s, e, text[s:e], "citation", (), tuple(pids), what)


def _names(ev: Evidence) -> dict[str, str]:
    out = {ev.item: ev.item_name}
    for p in ev.paths:
        for h in p.hops:
            out.setdefault(h.src, h.src_name)
            out.setdefault(h.dst, h.dst_name)
    for w in ev.weights:
        out.setdefault(w.id, w.name)
    out[f"u:{ev.user}"] = "you"
    return out
