"""Tidy DataFrames for the tables the pages show (st.dataframe renders cells as plain text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

import pandas as pd

from core.explain.base import Explanation


def items_frame(
    titles: Sequence[str], raw_ids: Sequence[str], scores: Sequence[float] | None = None
) -> pd.DataFrame:
    """One row per item: rank, raw id, title and (optionally) score."""
    frame = pd.DataFrame(
        {"#": range(1, len(titles) + 1), "item": list(raw_ids), "title": list(titles)}
    )
    if scores is not None:
        frame["score"] = [round(float(s), 4) for s in scores]
    return frame


def paths_frame(expl: Explanation, n: int = 10) -> pd.DataFrame:
    """The top-n paths as readable chains: "user —interacted→ Film A —genre→ Drama ← ... "."""
    names = expl.subgraph.nodes if expl.subgraph is not None else {}
    rows = []
    for p in expl.paths[:n]:
        hops = [names.get(p.edges[0].src, p.edges[0].src)] if p.edges else []
        for e in p.edges:
            hops.append(f"—{e.relation}→ {names.get(e.dst, e.dst)}")
        rows.append({"path": " ".join(hops), "kind": p.kind, "score": round(p.score, 4)})
    return pd.DataFrame(rows, columns=["path", "kind", "score"])


def contributions_frame(expl: Explanation, kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """Contributions (optionally only some kinds), heaviest first."""
    rows = [asdict(c) for c in expl.contributions if kinds is None or c.kind in kinds]
    frame = pd.DataFrame(rows, columns=["kind", "id", "name", "weight"])
    return frame.sort_values("weight", ascending=False, ignore_index=True)


def edges_frame(expl: Explanation, n: int = 15) -> pd.DataFrame:
    """Edge attributions: from contributions of kind "edge", else the subgraph's weighted edges."""
    frame = contributions_frame(expl, ["edge"])
    if not frame.empty or expl.subgraph is None:
        return frame.head(n)
    names = expl.subgraph.nodes
    rows = [
        {
            "src": names.get(e.src, e.src),
            "relation": e.relation,
            "dst": names.get(e.dst, e.dst),
            "weight": e.weight,
        }
        for e in expl.subgraph.edges
    ]
    frame = pd.DataFrame(rows, columns=["src", "relation", "dst", "weight"])
    return frame.sort_values("weight", ascending=False, ignore_index=True).head(n)


def leaderboard_frame(metrics: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Models as rows, metrics as columns (only numeric scalars), sorted by the first metric."""
    rows = []
    for model, values in metrics.items():
        row = {"model": model}
        row.update(
            {
                k: float(v)
                for k, v in values.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            }
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    metric_cols = [c for c in frame.columns if c != "model"]
    return (
        frame.sort_values(metric_cols[:1] or ["model"], ascending=False, ignore_index=True)
        if metric_cols
        else frame
    )
