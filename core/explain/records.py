"""An explanation as JSON-ready data with raw ids: what `python -m core explain --json` prints
and what the population export (core.export) writes."""

from __future__ import annotations

from core.data import Dataset
from core.explain.base import Explanation, parse_node_id
from core.explain.cold import NEW_USER


def raw_node(ds: Dataset, nid: str) -> str:
    """'u:3' -> the user's raw id, 'i:7' / 'e:1503' -> the entity's raw id."""
    kind, idx = parse_node_id(nid)
    if kind == "u" and idx >= ds.n_users:  # a user folded in (core.explain.cold)
        return NEW_USER
    return ds.user_ids.to_raw(idx) if kind == "u" else ds.entity_ids.to_raw(idx)


def to_raw(ds: Dataset, expl: Explanation) -> dict:
    """An explanation as JSON-ready data with raw ids (names unescaped)."""
    cf = expl.counterfactual
    return {
        "rank": expl.rank,
        "item": ds.item_ids.to_raw(expl.item),
        "title": ds.title(expl.item),
        "score": expl.score,
        "method": expl.method,
        "model": expl.model,
        "sentence": expl.sentence,
        "contributions": [
            {"kind": c.kind, "name": c.name, "weight": c.weight,
             "id": c.id if c.kind in ("attribute_type", "edge") else raw_node(ds, c.id)}
            for c in expl.contributions
        ],
        "paths": [
            {"kind": p.kind, "score": p.score,
             "edges": [[raw_node(ds, e.src), e.relation, raw_node(ds, e.dst)] for e in p.edges],
             "names": [expl.subgraph.nodes.get(n, "") if expl.subgraph else "" for n in p.nodes]}
            for p in expl.paths
        ],
        "counterfactual": None if cf is None else {
            "removed": [raw_node(ds, n) for n in cf.removed],
            "removed_names": list(cf.removed_names),
            "new_rank": cf.new_rank, "new_score": cf.new_score, "k": cf.k, "valid": cf.valid,
        },
    }  # fmt: skip
