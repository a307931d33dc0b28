"""Explanation quality in the form the dashboard shows it: one explanation's deletion curve, and
per-model summaries (deletion ratio, planted-driver recovery) for the comparison page.

The measures themselves are core.explain.fidelity's; this module picks small, fixed samples so
a page can afford them, and shapes the results into records and tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.load import SAMPLE_DIR
from core.explain import fidelity
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.fidelity import DeletionCurve  # the one type, re-exported for the app
from core.explain.registry import supported_methods
from core.models.base import can_rescore


def deletion_curve(
    ctx: ExplainContext, expl: Explanation, max_m: int = 3, draws: int = 2, seed: int = 0
) -> DeletionCurve | None:
    """The deletion curve the card shows (fidelity.deletion_curve: m = 0..max_m, `draws`
    random sets per m from a generator seeded by `seed`, one batched re-scoring; the variant
    is recorded). None when the model cannot re-score an edited history, the history has at
    most `max_m` items, or the explanation is a counterfactual (its removals are the point)."""
    if not can_rescore(ctx.model) or expl.method == "counterfactual":
        return None
    return fidelity.deletion_curve(ctx, expl, max_m, draws, np.random.default_rng(seed))


def planted_drivers(dataset_path: str | Path, dataset) -> dict[int, set[str]] | None:
    """The planted drivers of a generated dataset (its folder's ground_truth.csv, see
    core.data.sample), or None for data without them. dataset_path: "sample" or a folder."""

    folder = SAMPLE_DIR if str(dataset_path) == "sample" else Path(dataset_path)
    truth = folder / "ground_truth.csv"
    return fidelity.load_ground_truth(truth, dataset) if truth.is_file() else None


QUALITY_COLUMNS = [
    "method",
    "explanations",
    "deletion ratio@3",
    "deletion AUC",
    "planted-driver recovery",
    "random recovery",
    "explainability",
]


def fidelity_table(
    ctx: ExplainContext,
    drivers: dict[int, set[str]] | None = None,
    n_users: int = 3,
    k: int = 3,
) -> pd.DataFrame:
    """Per explanation method (QUALITY_COLUMNS): deletion ratio@3 and AUC, planted-driver
    recovery (given `drivers`, see fidelity.load_ground_truth) and the share of explanations
    with a path, over `n_users` sampled users' top-k. The counterfactual method is left out:
    its own search re-scores the model dozens of times per item."""
    methods = [m for m in supported_methods(ctx) if m != "counterfactual"]
    if not methods:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    cfg = fidelity.FidelityConfig(n_users=n_users, k=k, ms=(1, 3), random_draws=1)
    rows = []
    for method, res in fidelity.run(ctx, cfg, drivers=drivers, methods=methods).items():
        dele, planted = res.get("deletion", {}), res.get("planted", {})
        rows.append(
            [
                method,
                res.get("explanations"),
                dele.get("ratio@3", np.nan),
                dele.get("auc", np.nan),
                planted.get("recovery", np.nan),
                planted.get("random", np.nan),
                res.get("paths", {}).get("explainability", np.nan),
            ]
        )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def best_quality(table: pd.DataFrame) -> dict[str, float]:
    """A model's headline explanation quality: the best deletion ratio@3 and the best planted
    recovery over its methods (NaN when no method measured it)."""
    out = {}
    for col in ("deletion ratio@3", "planted-driver recovery"):
        vals = pd.to_numeric(table[col], errors="coerce").replace(np.inf, np.nan).dropna()
        out[col] = float(vals.max()) if len(vals) else float("nan")
    return out
