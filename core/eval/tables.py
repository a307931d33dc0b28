"""Tidy tables over saved metrics (metrics.json), for the comparison views."""

from __future__ import annotations

import pandas as pd

# The columns product managers read first, in this order; the rest follow alphabetically.
HEADLINE = ("recall@20", "ndcg@20")


def quartile_frame(per_model: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per model and user-activity quartile, from metrics.json's `per_quartile`
    (a list of {quartile, users, min_train, max_train, metric: value, ...} per model)."""
    rows = [{"model": m, **q} for m, quarts in per_model.items() for q in quarts]
    frame = pd.DataFrame(rows)
    first = [c for c in ("model", "quartile", "users", "min_train", "max_train") if c in frame]
    first += [c for c in HEADLINE if c in frame]
    return frame[first + sorted(c for c in frame.columns if c not in first)]


def leaderboard(metrics: dict[str, dict]) -> pd.DataFrame:
    """Models as rows and numeric metrics as columns (Recall@20 and NDCG@20 first), best
    NDCG@20 first (else the first metric; ties keep the given order).

    metrics: model label -> {metric: value}; non-numeric values are left out.
    """
    rows = [
        {"model": model}
        | {
            k: float(v)
            for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        for model, values in metrics.items()
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    rest = sorted(c for c in frame.columns if c != "model" and c not in HEADLINE)
    cols = ["model"] + [c for c in HEADLINE if c in frame] + rest
    frame = frame[cols]
    key = next(
        (c for c in ("ndcg@20", "recall@20") if c in frame), cols[1] if len(cols) > 1 else None
    )
    if key is None:
        return frame
    return frame.sort_values(key, ascending=False, kind="stable", ignore_index=True)
