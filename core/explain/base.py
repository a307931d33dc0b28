"""The one Explanation type every explainer returns, so every renderer works with every model.

Records are small frozen dataclasses with fixed fields, easy to turn into DataFrames
(`pd.DataFrame(map(asdict, expl.contributions))`). Ids are internal; the `*_name` fields carry
display text (titles, entity names) *unescaped*: renderers escape them where they reach HTML.

Node ids in paths and subgraphs are strings with a kind prefix so users, items and entities never
collide: "u:12" (user 12), "i:7" (item 7, which is also entity 7), "e:1503" (non-item entity).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from core.subgraph import Edge, Subgraph, node_id, parse_node_id

__all__ = ["Edge", "Subgraph", "node_id", "parse_node_id"]  # re-exported: part of this contract

ContributionKind = Literal["history_item", "entity", "attribute_type", "edge", "feature"]
Method = Literal["attention", "paths", "edges", "counterfactual", "influence", "popularity"]


@dataclass(frozen=True)
class Contribution:
    """How much one thing (a history item, entity, attribute type or edge) pushed the score."""

    kind: ContributionKind
    id: str  # node id ("i:7", "e:1503") or, for attribute types, the relation name
    name: str  # display name (title, entity name, relation name)
    weight: float  # larger = more responsible; explainer-specific scale, documented per method


@dataclass(frozen=True)
class Path:
    """A path from the user to the recommended item; every edge exists in the graph."""

    edges: tuple[Edge, ...]
    score: float  # aggregated edge weights; the explainer documents its aggregation
    kind: str  # shape, e.g. "user-item-entity-item", "user-item-user-item"

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.edges[0].src,) + tuple(e.dst for e in self.edges) if self.edges else ()


@dataclass(frozen=True)
class Counterfactual:
    """The smallest found set of history items whose removal drops the item out of the top-k."""

    removed: tuple[str, ...]  # node ids of removed history items
    removed_names: tuple[str, ...]
    new_rank: int  # 1-based rank of the item after removal (> k when the counterfactual holds)
    new_score: float
    k: int
    # verified by an independent re-scoring (the model's `reference_scores`, not the search's
    # batched path): the item's rank there is > k
    valid: bool
    # "refit": the user's own parameters re-fitted on the edited history (what the model would
    # have learned without these items); "inference": learned parameters kept, edited graph or
    # history re-scored (what one forward pass computes)
    variant: str = "inference"
    baseline_rank: int = 0  # rank with the full history under the same variant (like for like)
    checked_rank: int = 0  # the item's rank from the independent re-scoring


@dataclass(frozen=True)
class Explanation:
    """Why one item was recommended to one user, by one method."""

    user: int
    item: int
    score: float
    rank: int  # 1-based rank in the user's recommendation list
    method: str
    model: str
    contributions: tuple[Contribution, ...] = ()
    paths: tuple[Path, ...] = ()
    subgraph: Subgraph | None = None
    sentence: str = ""
    counterfactual: Counterfactual | None = None
    extra: dict = field(default_factory=dict)  # method-specific data, JSON-serialisable

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """Stable short hash of the explanation's content (stored with feedback)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def share_of_score(self, path: Path) -> float:
        """A path's score as a share of all the explanation's path scores (0..1), the readable
        form of path weights such as 0.0001: see `extra["path_total"]`, set by explainers
        that score paths; 0.0 when there is none."""
        total = float(self.extra.get("path_total") or 0.0)
        return abs(path.score) / total if total > 0 else 0.0

    def top_entities(self, n: int) -> list[str]:
        """Node ids of the n heaviest entity contributions (planted-driver recovery uses this)."""
        ents = [c for c in self.contributions if c.kind == "entity"]
        return [c.id for c in sorted(ents, key=lambda c: -c.weight)[:n]]
