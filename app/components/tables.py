"""Tidy DataFrames for the tables the pages show (st.dataframe renders cells as plain text).

Names come from a `name(node id) -> text` function (core.explain.present.node_namer), so no
internal id ("i:1350", "u:0") reaches a table; without one, the explanation's own names are used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from core.eval.tables import leaderboard
from core.explain.base import Explanation
from core.explain.present import contribution_rows, edge_text, path_text, share_text

PATHS_CAPTION = (
    "Each path is a chain of real graph edges from the user to the recommended item. "
    "'share' is the path's part of all the evidence the explainer found between them: for KGAT, "
    "the product of the model's attention along the path (the part of the item's signal that "
    "reaches the user along it) over the sum for every path; the shares of all paths add up to "
    "100 %."
)


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


def _names(expl: Explanation, name: Callable[[str], str] | None) -> Callable[[str], str]:
    if name is not None:
        return name
    known = dict(expl.subgraph.nodes) if expl.subgraph is not None else {}
    for c in expl.contributions:
        known.setdefault(c.id, c.name)
    return lambda nid: known.get(nid, nid)


def paths_frame(
    expl: Explanation,
    n: int = 10,
    name: Callable[[str], str] | None = None,
    shares: Sequence[float] | None = None,
) -> pd.DataFrame:
    """The top-n paths written out in full ("user 7 —interacted→ Alien (i12) —genre→ ..."),
    with their shape and share (see PATHS_CAPTION); `shares` from present.path_shares."""
    namer = _names(expl, name)
    rows = []
    for j, p in enumerate(expl.paths[:n]):
        share = shares[j] if shares is not None and j < len(shares) else None
        rows.append(
            {
                "path": path_text(p, namer),
                "share": share_text(share) if share is not None else f"{p.score:.3g}",
                "shape": p.kind.replace("-", " → "),
            }
        )
    return pd.DataFrame(rows, columns=["path", "share", "shape"])


def contributions_frame(
    expl: Explanation,
    kinds: Sequence[str] | None = None,
    name: Callable[[str], str] | None = None,
) -> pd.DataFrame:
    """Contributions (optionally only some kinds), heaviest first: what, name, weight."""
    rows = contribution_rows(expl, _names(expl, name), kinds)
    return pd.DataFrame(rows, columns=["what", "name", "weight"])


def edges_frame(
    expl: Explanation, n: int = 15, name: Callable[[str], str] | None = None
) -> pd.DataFrame:
    """Edge attributions as readable edges: from contributions of kind "edge", else the
    subgraph's weighted edges, heaviest first."""
    frame = contributions_frame(expl, ["edge"], name)
    if not frame.empty or expl.subgraph is None:
        return frame.rename(columns={"name": "edge"})[["edge", "weight"]].head(n)
    namer = _names(expl, name)
    rows = [{"edge": edge_text(e, namer), "weight": e.weight} for e in expl.subgraph.edges]
    frame = pd.DataFrame(rows, columns=["edge", "weight"])
    return frame.sort_values("weight", ascending=False, ignore_index=True).head(n)


def leaderboard_frame(metrics: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Models as rows, Recall@20 and NDCG@20 first, best NDCG@20 first
    (core.eval.tables.leaderboard)."""
    return leaderboard({k: dict(v) for k, v in metrics.items()})
