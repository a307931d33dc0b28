"""The evidence a language model may narrate: built deterministically from one Explanation.

An `Evidence` holds the target item, the top paths (<= 3, each with an id "P1".., its score and
its hops in words), the heaviest weights (attended history items, entities, attribute types),
the counterfactual if one was computed, and the template sentence. It is *all* a language model
sees, and the grounding checker (core.explain.grounding) verifies generated text against it.

Names resolve through the dataset's `Lexicon`, relations through `core.explain.lexicon`'s
verbalisation table. Nothing here reads the model: the Explanation already carries the facts.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from core.explain.base import Explanation, node_id
from core.explain.lexicon import Lexicon, relation_key, role_noun, verbalise

MAX_PATHS = 3
MAX_WEIGHTS = 5


@dataclass(frozen=True)
class Hop:
    """One edge of a path, with both ends' names and the relation in words."""

    src: str  # node id ("u:0", "i:3", "e:12")
    src_name: str
    relation: str  # as in the KG, e.g. "~directed_by"
    phrase: str  # "directed by"; "" for interactions
    dst: str
    dst_name: str
    weight: float


@dataclass(frozen=True)
class EvidencePath:
    pid: str  # "P1", "P2", ... in the explanation's order (best first)
    score: float
    kind: str  # e.g. "user-item-entity-item"
    hops: tuple[Hop, ...]
    # the path's share of all the paths its explainer scored (`Explanation.share_of_score`,
    # 0..1): what the dashboard shows, and the readable number a text should state
    share: float = 0.0

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.hops[0].src,) + tuple(h.dst for h in self.hops) if self.hops else ()


@dataclass(frozen=True)
class EvidenceWeight:
    kind: str  # "history_item" | "entity" | "attribute_type" | ...
    id: str  # node id, or the relation name for attribute types
    name: str
    weight: float


@dataclass(frozen=True)
class EvidenceCounterfactual:
    removed: tuple[str, ...]  # node ids
    removed_names: tuple[str, ...]
    new_rank: int
    k: int
    valid: bool


@dataclass(frozen=True)
class Link:
    """An undirected fact between two named nodes: a KG hop, a shared user, or the model's
    attention / counterfactual tying a history item to the target. `relation` is the relation
    key ("directed_by") for KG hops, else "co_liked", "attention" or "counterfactual"."""

    a: str
    b: str
    relation: str
    pids: tuple[str, ...]  # ids of the paths this link lies on (empty for star links)


@dataclass(frozen=True)
class Evidence:
    user: int
    user_name: str
    item: str  # node id of the recommended item, "i:N"
    item_name: str
    score: float
    rank: int
    method: str
    model: str
    paths: tuple[EvidencePath, ...]
    weights: tuple[EvidenceWeight, ...]
    counterfactual: EvidenceCounterfactual | None
    template: str
    numbers: tuple[float, ...]  # every number a text may state (scores, weights, ranks, k)
    links: tuple[Link, ...]
    # what each number is ("the item's rank", "P1's share of the path evidence"), for attribution
    number_labels: tuple[tuple[float, str], ...] = ()
    anonymous: tuple[str, ...] = ()  # entities with no name, called by role (readable.py)
    # False when the card's deletion test contradicts a personal reason (headline.py): a text
    # may then not give the user's history as the reason
    personal: bool = True

    @property
    def entities(self) -> frozenset[str]:
        """Node ids (items and entities, never users) a text may name."""
        out = {self.item}
        out |= {n for p in self.paths for n in p.nodes if not n.startswith("u:")}
        out |= {w.id for w in self.weights if w.kind in ("history_item", "entity")}
        if self.counterfactual:
            out |= set(self.counterfactual.removed)
        return frozenset(out)

    @property
    def attribute_relations(self) -> frozenset[str]:
        """Relation keys the model weighted as attribute types (e.g. attention over relations)."""
        return frozenset(relation_key(w.id) for w in self.weights if w.kind == "attribute_type")

    @property
    def path_ids(self) -> tuple[str, ...]:
        return tuple(p.pid for p in self.paths)

    def to_dict(self) -> dict:
        return asdict(self)

    def facts(self) -> str:
        """The evidence as the plain lines a language model is given (names quoted)."""
        lines = [
            f'Recommended item: "{self.item_name}" (rank {self.rank}, score {_num(self.score)})'
        ]
        for p in self.paths:
            steps = _shared_text(p, self.anonymous) or " ".join(_hop_text(h) for h in p.hops)
            lines.append(f"[{p.pid}] ({_share(p.share)} of the path evidence): {steps}")
        liked = [w for w in self.weights if w.kind == "history_item"]
        if liked:
            parts = [f'"{w.name}" ({_num(w.weight)})' for w in liked]
            label = _HISTORY_LABEL.get(self.method, _HISTORY_LABEL[""])
            lines.append(f"{label}: " + ", ".join(parts))
        ents = [w for w in self.weights if w.kind == "entity"]
        if ents:
            lines.append("Entities weighted: " + ", ".join(f'"{w.name}"' for w in ents))
        if not self.personal:
            lines.append(
                "Measured: removing the history items this explanation ranks highest moves the "
                "item no more than removing random ones; do not give the user's history as the "
                "reason."
            )
        cf = self.counterfactual
        if cf is not None and cf.valid:
            gone = ", ".join(f'"{n}"' for n in cf.removed_names)
            lines.append(f"Without {gone} the item falls to rank {cf.new_rank} (top {cf.k}).")
        return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:.3g}"


def _share(x: float) -> str:
    """A share 0..1 as a percentage ("42%", "3.1%", "<0.1%"); texts may state it."""
    pct = 100 * x
    if 0 < pct < 0.1:
        return "<0.1%"
    return f"{pct:.0f}%" if pct >= 10 else f"{pct:.1f}%"


# what the history weights of each method are (the facts line that lists them)
_HISTORY_LABEL = {
    "attention": "Model attention on the user's history",
    "influence": "Score drop if each history item were left out of the user's fit",
    "edges": "Attribution of the user's history edges",
    "": "Weight of the user's history items",
}


def _hop_text(h: Hop) -> str:
    if h.src.startswith("u:") and h.relation == "interacted":
        return f'the user liked "{h.dst_name}";'
    if h.relation == "~interacted":
        return "another user who also liked it"
    if h.src.startswith("u:"):
        return f'liked "{h.dst_name}".'
    if h.relation.startswith("~"):  # entity -> item: state it of the item
        return _fact(h.dst_name, h.phrase, h.src_name, also=True) + "."
    return _fact(h.src_name, h.phrase, h.dst_name, also=False) + ";"


def _shared_text(p: EvidencePath, anonymous: tuple[str, ...]) -> str:
    """'the user liked "A"; "A" and "B" share an actor.' for a path through a nameless entity."""
    hops = p.hops
    if len(hops) != 3 or hops[1].dst not in anonymous:
        return ""
    noun = role_noun(hops[1].relation)
    article = "an" if noun[:1] in "aeiou" else "a"
    a, b = hops[0].dst_name, hops[2].dst_name
    return f'the user liked "{a}"; "{a}" and "{b}" share {article} {noun}.'


def _fact(subject: str, phrase: str, obj: str, also: bool) -> str:
    """'"A" is directed by "B"', '"A" stars "B"', '"A" has genre "B"' (with "also")."""
    if phrase.endswith(" by"):
        verb = f"is {'also ' if also else ''}{phrase}"
    elif phrase == "starring":
        verb = f"{'also ' if also else ''}stars"
    else:
        verb = f"{'also ' if also else ''}has {phrase}"
    return f'"{subject}" {verb} "{obj}"'


def _names(expl: Explanation, lexicon: Lexicon) -> dict[str, str]:
    out = dict(expl.subgraph.nodes) if expl.subgraph else {}
    for c in expl.contributions:
        out.setdefault(c.id, c.name)

    def name(nid: str) -> str:
        return out.get(nid) or lexicon.name(nid) or nid

    return {nid: name(nid) for nid in {*out, *(n for p in expl.paths for n in p.nodes)}}


def _links(paths: tuple[EvidencePath, ...], user: str, item: str, weights, cf) -> tuple[Link, ...]:
    """Facts between nodes: KG hops directly, other users' hops contracted ("co_liked"), the
    user to each item they liked ("interacted"), and attention / counterfactual star links."""
    out: list[Link] = []
    for p in paths:
        if p.hops and p.hops[0].src == user:
            out.append(Link(user, p.hops[0].dst, "interacted", (p.pid,)))
        named = [(i, n) for i, n in enumerate(p.nodes) if not n.startswith("u:")]
        for (i, a), (j, b) in zip(named, named[1:], strict=False):
            rel = relation_key(p.hops[i].relation) if j == i + 1 else "co_liked"
            out.append(Link(a, b, rel, (p.pid,)))
        # two items through one entity share it: "Gravity shares a director with The Martian"
        for i in range(1, len(p.hops)):
            a, b, c = p.hops[i - 1].src, p.hops[i].src, p.hops[i].dst
            key = relation_key(p.hops[i - 1].relation)
            if (
                b.startswith("e:")
                and a.startswith("i:")
                and relation_key(p.hops[i].relation) == key
            ):
                out.append(Link(a, c, key, (p.pid,)))
    for w in weights:
        if w.kind in ("history_item", "entity") and w.id != item:
            out.append(Link(w.id, item, "attention", ()))
        if w.kind == "history_item":
            out.append(Link(user, w.id, "interacted", ()))
    if cf is not None:
        out += [Link(r, item, "counterfactual", ()) for r in cf.removed]
        out += [Link(user, r, "interacted", ()) for r in cf.removed]
    merged: dict[tuple[str, str, str], set[str]] = {}
    for lk in out:
        key = (*sorted((lk.a, lk.b)), lk.relation)
        merged.setdefault(key, set()).update(lk.pids)  # type: ignore[arg-type]
    return tuple(Link(a, b, r, tuple(sorted(p))) for (a, b, r), p in merged.items())


def _numbers(expl: Explanation, paths, weights, cf) -> list[tuple[float, str]]:
    """(value, what it is) for every number a text may state."""
    nums = [(expl.score, "the item's score"), (float(expl.rank), "the item's rank")]
    nums.append((float(len(paths)), "the number of paths"))
    for p in paths:
        nums += [(p.score, f"{p.pid}'s score"), (p.share, f"{p.pid}'s share of the paths")]
        nums += [(h.weight, f"a hop weight on {p.pid}") for h in p.hops]
    nums += [(w.weight, f'the weight of "{w.name}"') for w in weights]
    if cf is not None:
        nums += [(float(cf.new_rank), "the rank without the removed items")]
        nums += [(float(cf.k), "the list size"), (float(len(cf.removed)), "the items removed")]
    for key, v in expl.extra.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            nums.append((float(v), key.replace("_", " ")))
    if expl.counterfactual is not None:
        nums.append((expl.counterfactual.new_score, "the score without the removed items"))
    out: dict[float, str] = {}
    for x, label in nums:
        if math.isfinite(float(x)):
            out.setdefault(float(x), label)
    return sorted(out.items())


def _select_paths(expl: Explanation, lexicon: Lexicon, max_paths: int) -> list:
    """The best path, then paths carrying nodes the template sentence names (so the template is
    always backed by its evidence), then the next best: at most `max_paths`, in their order."""
    if not expl.paths:
        return []
    named = {nid for m in lexicon.find(expl.sentence) for nid in m.ids}
    chosen = [0]
    covered = set(expl.paths[0].nodes)
    for i, p in enumerate(expl.paths[1:], start=1):
        if len(chosen) < max_paths and (set(p.nodes) & named) - covered:
            chosen.append(i)
            covered |= set(p.nodes)
    rest = [i for i in range(len(expl.paths)) if i not in chosen]
    chosen = sorted(chosen + rest[: max(0, max_paths - len(chosen))])
    return [expl.paths[i] for i in chosen]


def build_evidence(
    expl: Explanation,
    lexicon: Lexicon,
    max_paths: int = MAX_PATHS,
    max_weights: int = MAX_WEIGHTS,
) -> Evidence:
    """The Evidence of one explanation: deterministic, no model call."""
    names = _names(expl, lexicon)
    item = node_id("i", expl.item)
    item_name = str(expl.extra.get("item_name") or lexicon.name(item) or item)
    chosen = _select_paths(expl, lexicon, max_paths)
    paths = tuple(
        EvidencePath(
            pid=f"P{i + 1}",
            score=float(p.score),
            share=float(expl.share_of_score(p)),
            kind=p.kind,
            hops=tuple(
                Hop(
                    e.src,
                    names.get(e.src, e.src),
                    e.relation,
                    verbalise(e.relation),
                    e.dst,
                    names.get(e.dst, e.dst),
                    float(e.weight),
                )
                for e in p.edges
            ),  # fmt: skip
        )
        for i, p in enumerate(chosen)
    )
    per_kind: dict[str, int] = {}
    weights = []
    for c in sorted(expl.contributions, key=lambda c: -c.weight):
        per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
        if per_kind[c.kind] <= max_weights and c.weight > 0:
            weights.append(EvidenceWeight(c.kind, c.id, c.name, float(c.weight)))
    cf = None
    if expl.counterfactual is not None:
        c = expl.counterfactual
        cf = EvidenceCounterfactual(c.removed, c.removed_names, c.new_rank, c.k, c.valid)
    weights_t = tuple(weights)
    labels = _numbers(expl, paths, weights_t, cf)
    return Evidence(
        user=expl.user,
        user_name=str(expl.extra.get("user_name", f"user {expl.user}")),
        item=item,
        item_name=item_name,
        score=float(expl.score),
        rank=int(expl.rank),
        method=expl.method,
        model=expl.model,
        paths=paths,
        weights=weights_t,
        counterfactual=cf,
        template=expl.sentence,
        numbers=tuple(x for x, _ in labels),
        links=_links(paths, node_id("u", expl.user), item, weights_t, cf),
        number_labels=tuple(labels),
        anonymous=tuple(sorted(expl.extra.get("entity_ids", {}))),
        personal=bool(expl.extra.get("personal", True)),
    )


def evidence_json(ev: Evidence) -> str:
    return json.dumps(ev.to_dict(), sort_keys=True, ensure_ascii=False)
