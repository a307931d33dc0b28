"""The grounding checker: does a text claim only what its Evidence supports?

Deterministic and model-free, usable on any text (a template, an LLM's answer, a human's edit).
A text is *grounded* when it has no violation:

- foreign_entity: it names an item or entity (word-bounded, case-insensitive, against the whole
  dataset lexicon) that is not in the evidence;
- unconnected: within one sentence, the named entities are not connected by the evidence's links
  (KG hops, shared users, the model's attention, the counterfactual), the user allowed as a
  bridge between items they liked;
- relation: a relation phrase ("directed by") labels none of the links among that sentence's
  entities (nor an attribute type the model weighted);
- number: a number equals no score, weight, rank or count of the evidence at its stated precision;
- citation: a cited path id ("[P2]") does not exist, or the sentence names entities off that path;
- unsupported (the closed world, core.explain.closed_world): a word or name that is none of the
  above and not in the discourse vocabulary, nor part of an evidence name or of the wording of
  an evidence relation (an award, a critic, a trend, a person from world knowledge);
- item_missing: the recommended item is not named; empty: there is no text.

Every verified span gets an `Attribution` (the path, hop or number it rests on).

The hallucination rates count only the first six kinds (false statements), not omissions.
Claims counted for the mention-level rate: entity mentions, relation phrases, numbers, citations,
one connection claim per sentence naming two or more entities, and the item being named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from core.explain import closed_world as cw
from core.explain.closed_world import Attribution
from core.explain.evidence import Evidence
from core.explain.lexicon import VERBALISATIONS, Lexicon, Mention, RelationFinder

ViolationKind = Literal[
    "foreign_entity",
    "unconnected",
    "relation",
    "number",
    "citation",
    "unsupported",
    "item_missing",
    "empty",
]

# Violations that state something false; "item_missing" and "empty" are omissions: they fail the
# check but are not counted as hallucinations.
HALLUCINATIONS = frozenset(
    {"foreign_entity", "unconnected", "relation", "number", "citation", "unsupported"}
)

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_CITATION = re.compile(r"\[\s*(P\d+(?:\s*[,;]\s*P\d+)*)\s*\]|\bP(\d+)\b")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:st|nd|rd|th)?(%?)(?![\w])")


@dataclass(frozen=True)
class Violation:
    kind: ViolationKind
    message: str
    start: int  # offending span in the checked text (0, 0 when the whole text is at fault)
    end: int
    span: str


@dataclass(frozen=True)
class GroundingReport:
    grounded: bool
    violations: tuple[Violation, ...]
    n_claims: int
    n_bad_claims: int
    coverage: float | None  # fraction of evidence paths the text covers; None without paths
    mentions: tuple[Mention, ...]
    attributions: tuple[Attribution, ...] = ()  # every verified span and what it rests on

    @property
    def hallucinated(self) -> bool:
        return any(v.kind in HALLUCINATIONS for v in self.violations)

    def to_dict(self) -> dict:
        return {
            "grounded": self.grounded,
            "violations": [v.__dict__ for v in self.violations],
            "n_claims": self.n_claims,
            "n_bad_claims": self.n_bad_claims,
            "coverage": self.coverage,
            "mentions": [{"span": m.text, "ids": list(m.ids)} for m in self.mentions],
            "attributions": [a.to_dict() for a in self.attributions],
        }


def _sentences(text: str, mentions: list[Mention]) -> list[tuple[int, int]]:
    """Sentence spans; a '.' inside a name ("Mr. Smith") does not end a sentence."""
    inside = [(m.start, m.end) for m in mentions]
    cuts = [
        m.end()
        for m in _SENTENCE_END.finditer(text)
        if not any(s <= m.start() < e - 1 for s, e in inside)
    ]
    bounds, start = [], 0
    for c in cuts + [len(text)]:
        chunk = text[start:c]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            bounds.append((start + lead, start + len(chunk.rstrip())))
        start = c
    return bounds


def _free(start: int, end: int, taken: Iterable[tuple[int, int]]) -> bool:
    return not any(s < end and start < e for s, e in taken)


class _Components:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _number_ok(text: str, percent: bool, allowed) -> str | None:
    """What evidence number `text` states at its precision (its label), or None.
    allowed: (value, label) pairs."""
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    for v, label in allowed:
        v = v * 100 if percent else v
        if decimals == 0 and not percent:
            if v == value:
                return label
        elif round(v, decimals) == value:
            return label
    return None


class Checker:
    """Checks texts against evidence, with one dataset lexicon. Read-only after construction,
    so one checker can serve many threads."""

    def __init__(self, lexicon: Lexicon, relation_names: Iterable[str] = ()) -> None:
        """relation_names: the dataset's KG relations (phrases of the verbalisation table are
        always looked for too), so a relation the evidence lacks is still found in the text."""
        self.lexicon = lexicon
        self.relations = RelationFinder.for_relations({*relation_names, *VERBALISATIONS})

    @classmethod
    def from_context(cls, ctx) -> Checker:
        return cls(Lexicon.from_context(ctx), ctx.ckg.relation_names)

    def check(self, text: str, ev: Evidence) -> GroundingReport:
        """The verdict on `text` against `ev`; violations are sorted by position."""
        if not text.strip():
            v = Violation("empty", "no text", 0, 0, "")
            return GroundingReport(False, (v,), 1, 0, 0.0 if ev.paths else None, ())
        mentions = self.lexicon.find(text)
        cites = list(_CITATION.finditer(text))
        taken = [(m.start, m.end) for m in mentions] + [(c.start(), c.end()) for c in cites]
        attrs = [cw.entity_attribution(m, ev) for m in mentions if set(m.ids) & ev.entities]
        out = [
            Violation(
                "foreign_entity", f'"{m.text}" is not in the evidence', m.start, m.end, m.text
            )
            for m in mentions
            if not set(m.ids) & ev.entities
        ]
        claims = len(mentions) + len(cites) + 1  # + the item being named
        sentences = _sentences(text, mentions)
        spans: list[tuple[int, int]] = []  # relation phrases and numbers, right or wrong
        for s, e in sentences:
            sent = [m for m in mentions if s <= m.start < e]
            claims += self._check_sentence(text, s, e, sent, ev, taken, out, attrs, spans)
        out += self._check_citations(text, cites, mentions, ev, attrs)
        if not any(ev.item in m.ids for m in mentions):
            msg = f'the recommended item "{ev.item_name}" is not named'
            out.append(Violation("item_missing", msg, 0, 0, ""))
        claims += _check_numbers(text, taken, ev, out, attrs, spans)
        claims += self._check_history(text, sentences, mentions, ev, out)
        allowed = cw.discourse_vocabulary() | cw.evidence_words(ev)
        for s, e in cw.unsupported_spans(text, taken + spans, allowed, sentences):
            claims += 1
            msg = f'"{text[s:e]}" is stated nowhere in the evidence'
            out.append(Violation("unsupported", msg, s, e, text[s:e]))
        out.sort(key=lambda v: (v.start, v.kind))
        attrs.sort(key=lambda a: (a.start, a.kind))
        return GroundingReport(
            grounded=not out,
            violations=tuple(out),
            n_claims=claims,
            n_bad_claims=min(sum(v.kind in HALLUCINATIONS for v in out), claims),
            coverage=_coverage(ev, mentions, cites),
            mentions=tuple(mentions),
            attributions=tuple(attrs),
        )

    def _check_sentence(self, text, s, e, mentions, ev, taken, out, attrs, spans) -> int:
        """Connection and relation checks of one sentence; returns the claims it made. Appends
        violations to `out`, attributions to `attrs` and every relation phrase to `spans`."""
        nodes = {m: frozenset(m.ids) & ev.entities for m in mentions}
        named = [m for m in mentions if nodes[m]]
        claims = self._check_connected(text, s, e, named, nodes, ev, out)
        for ps, pe, rels in self.relations.find(text[s:e]):
            ps, pe = ps + s, pe + s
            if not _free(ps, pe, taken):
                continue
            claims += 1
            spans.append((ps, pe))
            if rels & ev.attribute_relations:  # the model weighted this relation type itself
                attrs.append(cw.relation_attribution(text, ps, pe, rels, [], ev))
                continue
            # the phrase states a fact between its nearest named neighbours ("A ... directed
            # by B"); with one neighbour, a fact touching it; with none, any fact of the evidence
            after = [m for m in named if m.start >= pe][:1]
            # "A is linked to B (genre)": with nothing after it, the phrase joins the two
            # names before it
            before = [m for m in named if m.end <= ps][-1 if after else -2 :]
            ends = [nodes[m] for m in before + after]
            if len(ends) == 2:
                pool = [lk for lk in ev.links if _joins(lk, ends[0], ends[1])]
            elif ends:
                pool = [lk for lk in ev.links if lk.a in ends[0] or lk.b in ends[0]]
            else:
                pool = list(ev.links)
            if not {lk.relation for lk in pool} & rels:
                between = " and ".join(f'"{m.text}"' for m in before + after) or "any entities"
                msg = f'"{text[ps:pe]}" links no {between} in the evidence'
                out.append(Violation("relation", msg, ps, pe, text[ps:pe]))
            else:
                attrs.append(cw.relation_attribution(text, ps, pe, rels, pool, ev))
        return claims

    def _check_history(self, text, sentences, mentions, ev: Evidence, out) -> int:
        """'you liked X' must name an item of the user's history as the evidence gives it; a
        negation in a sentence that states a relation is not attributed."""
        liked, n = cw.liked_items(ev), 0
        named = [(m.start, m.end) for m in mentions]
        for s, e in sentences:
            for (hs, he), m in cw.history_claims(text, s, e, mentions):
                n += 1
                if not ev.personal:  # the card's deletion test contradicts a personal reason
                    msg = "the measurement says this depends little on your history"
                    out.append(Violation("relation", msg, hs, he, text[hs:he]))
                elif set(m.ids) & ev.entities and not set(m.ids) & liked:
                    msg = f'the evidence does not say you liked "{m.text}"'
                    out.append(Violation("relation", msg, hs, he, text[hs:he]))
            rel = [(a + s, b + s) for a, b, _ in self.relations.find(text[s:e])]
            rel = [(a, b) for a, b in rel if _free(a, b, named)]  # not inside a name
            for ns, ne in cw.negated_relations(text, s, e, rel):
                n += 1
                msg = f'"{text[ns:ne]}" denies a fact: only stated facts can be checked'
                out.append(Violation("unsupported", msg, ns, ne, text[ns:ne]))
        return n

    def _check_connected(self, text, s, e, named, nodes, ev: Evidence, out) -> int:
        groups = {nodes[m] for m in named}
        if len(groups) < 2:
            return 0
        ids = set().union(*groups) | {f"u:{ev.user}"}  # the user may bridge items they liked
        comp = _Components()
        for lk in ev.links:
            if lk.a in ids and lk.b in ids:
                comp.join(lk.a, lk.b)
        if not _any_reading_connected(groups, comp):
            names = ", ".join(f'"{m.text}"' for m in named)
            msg = f"the evidence does not connect {names}"
            out.append(Violation("unconnected", msg, s, e, text[s:e]))
        return 1

    def _check_citations(self, text, cites, mentions, ev: Evidence, attrs) -> list[Violation]:
        out = []
        nodes = {p.pid: set(p.nodes) for p in ev.paths}
        for c in cites:
            pids = re.findall(r"P\d+", c.group(0))
            missing = [p for p in pids if p not in nodes]
            if missing:
                out.append(
                    Violation(
                        "citation",
                        f"no path {', '.join(missing)} in the evidence",
                        c.start(),
                        c.end(),
                        c.group(0),
                    )
                )
                continue
            on = set().union(*(nodes[p] for p in pids))
            s, e = _sentence_of(text, c.start(), mentions)
            off = [m for m in mentions if s <= m.start < e and not set(m.ids) & on]
            off = [m for m in off if set(m.ids) & ev.entities]  # foreign ones are flagged already
            if not off:
                attrs.append(cw.citation_attribution(text, c.start(), c.end(), pids, ev))
            else:
                names = ", ".join(f'"{m.text}"' for m in off)
                out.append(
                    Violation(
                        "citation",
                        f"{names} not on {', '.join(pids)}",
                        c.start(),
                        c.end(),
                        c.group(0),
                    )
                )
        return out


def _check_numbers(text: str, taken, ev: Evidence, out, attrs, spans) -> int:
    """Flag numbers outside names and citations that equal no evidence number; returns how
    many numbers were checked."""
    n = 0
    labelled = ev.number_labels or tuple((x, "an evidence number") for x in ev.numbers)
    for num in _NUMBER.finditer(text):
        if not _free(num.start(), num.end(), taken):
            continue
        n += 1
        spans.append((num.start(), num.end()))
        label = _number_ok(num.group(1), bool(num.group(2)), labelled)
        if label is None:
            msg = f"{num.group(0)} is no score, weight or rank of the evidence"
            out.append(Violation("number", msg, num.start(), num.end(), num.group(0)))
        else:
            attrs.append(cw.number_attribution(text, num.start(), num.end(), label))
    return n


def _joins(lk, a: frozenset[str], b: frozenset[str]) -> bool:
    return (lk.a in a and lk.b in b) or (lk.a in b and lk.b in a)


def _any_reading_connected(groups, comp: _Components) -> bool:
    roots = None
    for g in groups:
        r = {comp.find(i) for i in g}
        roots = r if roots is None else roots & r
    return bool(roots)


def _sentence_of(text: str, pos: int, mentions: list[Mention]) -> tuple[int, int]:
    for s, e in _sentences(text, mentions):
        if s <= pos < e:
            return s, e
    return 0, len(text)


def _coverage(ev: Evidence, mentions: list[Mention], cites) -> float | None:
    """A path is covered when the text cites it or names one of its nodes between the user and
    the recommended item."""
    if not ev.paths:
        return None
    named = {i for m in mentions for i in m.ids}
    cited = {p for c in cites for p in re.findall(r"P\d+", c.group(0))}
    hit = sum(1 for p in ev.paths if p.pid in cited or set(p.nodes[1:-1]) & named)
    return hit / len(ev.paths)


@dataclass(frozen=True)
class GroundingMetrics:
    n_texts: int
    mention_hallucination: float  # bad claims / claims over all texts
    explanation_hallucination: float  # texts with >= 1 hallucination / texts
    coverage: float | None  # mean coverage over texts whose evidence has paths


def summarise(reports: Iterable[GroundingReport]) -> GroundingMetrics:
    reps = list(reports)
    claims = sum(r.n_claims for r in reps)
    bad = sum(r.n_bad_claims for r in reps)
    covs = [r.coverage for r in reps if r.coverage is not None]
    return GroundingMetrics(
        n_texts=len(reps),
        mention_hallucination=bad / claims if claims else 0.0,
        explanation_hallucination=sum(r.hallucinated for r in reps) / len(reps) if reps else 0.0,
        coverage=sum(covs) / len(covs) if covs else None,
    )
