"""Readable evidence: node ids turned into titles and raw ids, paths into sentences of names and
relation words, path scores into shares. Pure functions; renderers escape the text they get.

Node ids ("u:3", "i:7", "e:1503") are internal and never shown: users appear as "user <raw id>",
items as "<title> (<raw id>)", entities by their name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from core.explain import kg_paths
from core.explain.base import Edge, Explanation, Path, parse_node_id
from core.explain.context import ExplainContext
from core.explain.text import relation_phrase

NodeText = Callable[[str], str]


def node_namer(dataset, with_raw: bool = True) -> NodeText:
    """A function node id -> display text for `dataset` (a core.data Dataset)."""

    def name(nid: str) -> str:
        kind, idx = parse_node_id(nid)
        if kind == "u":
            return f"user {dataset.user_ids.to_raw(idx)}"
        if kind == "i":
            title = dataset.title(idx)
            return f"{title} ({dataset.item_ids.to_raw(idx)})" if with_raw else title
        return str(dataset.entity_names[idx])

    return name


def edge_text(edge: Edge, name: NodeText) -> str:
    """'A —genre→ B' for a KG edge; an inverse edge '~genre' from B to A reads 'B ←genre— A'
    written from its source, so every hop keeps the direction of the stored triple."""
    word = relation_phrase(edge.relation)
    if edge.relation.startswith("~"):
        return f"{name(edge.src)} ←{word}— {name(edge.dst)}"
    return f"{name(edge.src)} —{word}→ {name(edge.dst)}"


def path_text(path: Path, name: NodeText) -> str:
    """The whole path as one chain of names and relation words, every hop shown:
    'user 7 —interacted→ Alien (i12) —directed by→ Ridley Scott ←directed by— Gladiator (i40)'."""
    if not path.edges:
        return ""
    out = [name(path.edges[0].src)]
    for e in path.edges:
        word = relation_phrase(e.relation)
        arrow = f"←{word}—" if e.relation.startswith("~") else f"—{word}→"
        out.append(f"{arrow} {name(e.dst)}")
    return " ".join(out)


def path_shares(ctx: ExplainContext, expl: Explanation) -> list[float]:
    """Each of `expl.paths`' score as a share of the summed score of *all* the KG paths from
    the user to the item that its explainer scores the same way (1.0 = all of it).

    For KGAT a path's score is the product of its attentions, the part of the item's signal
    that reaches the user along it, so the share is that path's part of the item's KG evidence;
    for TransE / TransR ("influence" scoring) the part of the score drop the paths' history
    items carry. The total is the explainer's own (`extra["path_total"]`, over every path it
    scored, the same scoring), so the share follows whatever scoring the explainer used.
    Returns floats in [0, 1], one per path; empty when the explanation has no paths.
    """
    if not expl.paths:
        return []
    if expl.method == "paths" and expl.extra.get("path_total"):
        return [expl.share_of_score(p) for p in expl.paths]
    if expl.method != "paths":  # other explainers score paths on their own scale: relative
        total = sum(p.score for p in expl.paths) or 1.0
        return [p.score / total for p in expl.paths]
    how = expl.extra.get("aggregation", "product")
    sets = kg_paths.enumerate_paths(ctx, expl.user, expl.item)
    scored = kg_paths.score_sets(sets, lambda e: kg_paths.edge_weights(ctx, e), how)
    total = float(sum(s.scores.sum() for s in scored)) or 1.0
    return [p.score / total for p in expl.paths]


def contribution_rows(expl: Explanation, name: NodeText, kinds=None) -> list[dict]:
    """Contributions, heaviest first, as {what, name, weight}; `what` is readable."""
    what = {
        "history_item": "history item",
        "entity": "KG entity",
        "attribute_type": "attribute type",
        "edge": "edge",
        "feature": "feature",
    }
    rows = []
    for c in sorted(expl.contributions, key=lambda c: -c.weight):
        if kinds is not None and c.kind not in kinds:
            continue
        label = relation_phrase(c.name) if c.kind == "attribute_type" else _safe_name(c, name)
        rows.append({"what": what.get(c.kind, c.kind), "name": label, "weight": float(c.weight)})
    return rows


_EDGE_ID = re.compile(r"^(\S+) -(.+)-> (\S+)$")  # edge contributions: "i:1 -genre-> e:5"


def _safe_name(c, name: NodeText) -> str:
    try:
        if c.kind == "edge":
            found = _EDGE_ID.match(c.id)
            if found:
                return edge_text(Edge(found[1], found[2], found[3], 0.0), name)
        return name(c.id)
    except (ValueError, IndexError, KeyError):
        return c.name  # not a node id (a feature contribution)


def share_text(share: float) -> str:
    """'42 %', '3.1 %', '< 0.1 %': readable at any size."""
    pct = 100 * share
    if pct >= 10:
        return f"{pct:.0f} %"
    if pct >= 0.1:
        return f"{pct:.1f} %"
    return "< 0.1 %" if pct > 0 else "0 %"


def node_layers(path_nodes: list[tuple[str, ...]]) -> dict[str, int]:
    """Column of each node on the given paths: its smallest position along any of them
    (user 0, history items 1, ...); the last node of every path is put in the last column."""
    layers: dict[str, int] = {}
    last = max((len(p) - 1 for p in path_nodes), default=0)
    for p in path_nodes:
        for pos, n in enumerate(p):
            layers[n] = min(layers.get(n, pos), pos)
    for p in path_nodes:
        if p:
            layers[p[-1]] = last
    return layers


def spread(n: int, gap: float) -> np.ndarray:
    """n positions `gap` apart, centred on 0."""
    return (np.arange(n) - (n - 1) / 2) * gap


def count_text(n: int, word: str, plural: str | None = None) -> str:
    """'1 edge', '2 edges', '0 hops', '1 entity' / '3 entities' (pass irregular plurals)."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"
