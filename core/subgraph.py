"""Node ids, named edges and bounded subgraphs of the knowledge graph: the graph layer's
vocabulary, shared by the graph builders (core.graph) and the explanations (core.explain.base
re-exports them as part of the Explanation contract).

Node ids are strings with a kind prefix so users, items and entities never collide: "u:12"
(user 12), "i:7" (item 7, which is also entity 7), "e:1503" (non-item entity).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Edge:
    """One directed, named edge of the knowledge graph (or the user-item graph)."""

    src: str  # node id
    relation: str  # relation name, e.g. "interacted", "directed_by", "~directed_by" (inverse)
    dst: str  # node id
    weight: float  # attention, attribution or embedding score of this edge


@dataclass(frozen=True)
class Subgraph:
    """A bounded explanation subgraph for the graph view (never the whole KG)."""

    nodes: dict[str, str]  # node id -> display name
    node_kinds: dict[str, str]  # node id -> "user" | "item" | "entity" | "target"
    edges: tuple[Edge, ...]


def node_id(kind: Literal["u", "i", "e"], idx: int) -> str:
    return f"{kind}:{int(idx)}"


def parse_node_id(nid: str) -> tuple[str, int]:
    kind, _, idx = nid.partition(":")
    return kind, int(idx)


def relation_phrase(relation: str) -> str:
    """'~directed_by' -> 'directed by'; 'film.film.genre' -> 'genre' (the readable last part)."""
    base = relation.lstrip("~").replace("/", ".").rstrip(".").split(".")[-1]
    return base.replace("_", " ")
