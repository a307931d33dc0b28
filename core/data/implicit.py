"""Explicit ratings -> implicit feedback: keep an interaction when rating >= threshold."""

from __future__ import annotations

import dataclasses

from core.data.dataset import Dataset
from core.data.errors import DataError


def to_implicit(ds: Dataset, threshold: float) -> Dataset:
    """Dataset whose interactions are those rated >= threshold; the rest are counted as dropped.

    Ids do not change: users and items left without interactions stay (models see them as cold).
    """
    if "rating" not in ds.interactions.columns:
        raise DataError(
            f"implicit_threshold={threshold} needs ratings, but this dataset has no rating column",
            path=ds.name,
            column="rating",
        )
    keep = (ds.interactions["rating"] >= threshold).to_numpy()
    report = dataclasses.replace(
        ds.report,
        dropped=dict(ds.report.dropped),
        notes=[*ds.report.notes, f"implicit feedback: kept ratings >= {threshold:g}"],
    )
    report.drop(
        "interactions", f"rating below implicit threshold {threshold:g}", int((~keep).sum())
    )
    inter = ds.interactions.loc[keep].reset_index(drop=True)
    return dataclasses.replace(ds, interactions=inter, report=report)
