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


# metric name (before "@K") -> (short header, what it measures, number format); "{k}" is the
# cut-off. Headers stay short so ten columns fit a 1500 px window; the help is the tooltip.
METRIC_TEXT = {
    "recall": ("Recall", "Share of a user's test items found in the top {k}.", "%.4f"),
    "ndcg": (
        "NDCG",
        "Normalised discounted cumulative gain: test items in the top {k}, counted more the "
        "higher they rank (1 = all of them at the top).",
        "%.4f",
    ),
    "hit": ("Hit", "Share of users with at least one test item in the top {k}.", "%.4f"),
    "mrr": ("MRR", "Mean of 1 / rank of the first test item in the top {k} (0: none).", "%.4f"),
    "precision": ("Precision", "Share of the top {k} that are test items.", "%.4f"),
    "coverage": (
        "Coverage",
        "Share of the catalogue that appears in at least one user's top {k}.",
        "%.4f",
    ),
    "diversity": (
        "Diversity",
        "1 - mean pairwise Jaccard similarity of the top {k} items' knowledge-graph "
        "attributes (higher: more varied lists).",
        "%.4f",
    ),
    "novelty": (
        "Novelty",
        "Mean self-information -log2(share of users who had the item) of the top {k}, in bits "
        "(higher: less popular items).",
        "%.2f",
    ),
    "avg_popularity": (
        "Popularity",
        "Mean number of training interactions of the top {k} items (lower: less popular).",
        "%.1f",
    ),
}


def metric_header(column: str) -> tuple[str, str, str]:
    """(short header, tooltip, number format) of a leaderboard column such as "ndcg@20"."""
    name, _, k = column.partition("@")
    label, help_text, fmt = METRIC_TEXT.get(name, (name, "", "%.4f"))
    return (f"{label}@{k}" if k else label), help_text.format(k=k or "K"), fmt


def _cutoff(column: str) -> int | None:
    _, at, k = column.partition("@")
    return int(k) if at and k.isdigit() else None


def leaderboard_parts(board: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """The leaderboard split so that no table needs a sideways scroll: the main table (the
    model and every metric at the headline cut-off, 20 where there is one, else the largest),
    and (title, table) per other cut-off, largest first, then metrics without one. Columns
    read accuracy first (METRIC_TEXT's order; a stable sort keeps the board's order within a
    name); every table keeps the model column and the board's row order."""
    known = list(METRIC_TEXT)  # accuracy first, then beyond-accuracy; unknown names last
    order = sorted(
        (c for c in board.columns if c != "model"),
        key=lambda c: known.index(n) if (n := c.partition("@")[0]) in known else len(known),
    )
    cuts = {c: _cutoff(c) for c in order}
    present = {k for k in cuts.values() if k is not None}
    if not present:
        return board, []
    main = 20 if 20 in present else max(present)
    parts = [
        (f"cut-off {k}", [c for c, ck in cuts.items() if ck == k])
        for k in sorted(present - {main}, reverse=True)
    ]
    parts.append(("other", [c for c, ck in cuts.items() if ck is None]))
    main_cols = [c for c, ck in cuts.items() if ck == main]
    return board[["model", *main_cols]], [
        (title, board[["model", *cols]]) for title, cols in parts if cols
    ]
