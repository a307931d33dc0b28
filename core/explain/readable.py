"""Readable names for entities that have none (issue 26).

The real knowledge graphs we load carry ids, not names (Freebase "m.0h16kt3" on
ml-100k-recbole-kg and amazon-book, Satori ids on lastfm). An explanation that names such an
entity would read `... is linked to "m.0h16kt3" (actor)`. Here each id-only entity is renamed by
its role and its neighbours in that explanation ("actor of Star Wars and Toy Story"), in the
subgraph (graph labels), the contributions (tables) and so in the narration evidence; the
sentence then says "shares an actor with Star Wars" (core.explain.text). The id is kept in
`extra["entity_ids"]` (node id -> id) for tooltips.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from core.explain.base import Edge, Explanation
from core.explain.lexicon import role_noun
from core.explain.text import with_sentence

# Freebase / Wikidata-style ids ("m.0h16kt3", "g.11b6", "Q42"), long hex or digit strings
_ID_LIKE = re.compile(r"^(?:[a-z]\.[0-9a-z_]{3,}|Q\d+|[0-9a-f]{12,}|\d+)$", re.IGNORECASE)
MAX_NEIGHBOURS = 2


def is_id_like(name: str) -> bool:
    """Whether an entity's name is only an identifier."""
    return bool(_ID_LIKE.match(name.strip())) or not name.strip()


def _edges(expl: Explanation) -> list[Edge]:
    out = [e for p in expl.paths for e in p.edges]
    if expl.subgraph is not None:
        out += list(expl.subgraph.edges)
    return out


def role_label(nid: str, expl: Explanation, names: dict[str, str]) -> str:
    """'actor of "Star Wars" and "Toy Story"': the entity's role in its first relation and up
    to two named items it links in this explanation (the role alone when it links none)."""
    rels, neighbours = [], []
    for e in _edges(expl):
        if nid not in (e.src, e.dst) or e.relation.lstrip("~") == "interacted":
            continue
        rels.append(e.relation)
        other = e.dst if e.src == nid else e.src
        if other.startswith("i:") and not is_id_like(names.get(other, "")):
            neighbours.append(names[other])
    noun = role_noun(rels[0]) if rels else "entity"
    shown = list(dict.fromkeys(neighbours))[:MAX_NEIGHBOURS]
    if not shown:
        return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
    return f"{noun} of " + " and ".join(shown)


def readable(expl: Explanation) -> Explanation:
    """`expl` with every id-only entity renamed by `role_label` and its sentence rewritten;
    `expl` itself when it names no such entity."""
    names = dict(expl.subgraph.nodes) if expl.subgraph else {}
    for c in expl.contributions:
        names.setdefault(c.id, c.name)
    anon = {n: names[n] for n in names if n.startswith("e:") and is_id_like(names[n])}
    if not anon:
        return expl
    new = {n: role_label(n, expl, names) for n in anon}
    sub = expl.subgraph
    if sub is not None:
        nodes = {n: new.get(n, name) for n, name in sub.nodes.items()}
        sub = dataclasses.replace(sub, nodes=nodes)
    contributions = tuple(
        dataclasses.replace(c, name=new[c.id]) if c.id in new else c for c in expl.contributions
    )
    extra = {**expl.extra, "entity_ids": {**expl.extra.get("entity_ids", {}), **anon}}
    out = dataclasses.replace(expl, subgraph=sub, contributions=contributions, extra=extra)
    return with_sentence(out)


def readable_namer(expl: Explanation, name: Callable[[str], str]) -> Callable[[str], str]:
    """`name` (node id -> text), except that the explanation's id-only entities read by role."""
    renamed = expl.extra.get("entity_ids", {})
    own = dict(expl.subgraph.nodes) if expl.subgraph else {}
    own.update({c.id: c.name for c in expl.contributions})

    def text(nid: str) -> str:
        return own.get(nid, name(nid)) if nid in renamed else name(nid)

    return text
