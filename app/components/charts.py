"""Small plotly charts for the overview, comparison and card (pure builders, names escaped)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.explain.fidelity import DeletionCurve


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


def build_activity_hist(per_user: np.ndarray) -> go.Figure:
    """Histogram of interactions per user."""
    fig = px.histogram(x=np.asarray(per_user), nbins=40, labels={"x": "interactions per user"})
    fig.update_layout(
        title="User activity", yaxis_title="users", height=320, margin=dict(t=50, b=10)
    )
    return fig


def build_popularity(per_item: np.ndarray) -> go.Figure:
    """Long-tail curve: interactions of each item, most popular first, on a log y axis with
    ticks at powers of ten only (plotly's default log ticks read '5, 2, 100, 5, 2, 10')."""
    counts = np.sort(np.asarray(per_item))[::-1]
    fig = px.line(
        x=np.arange(1, len(counts) + 1),
        y=np.maximum(counts, 1),
        log_y=True,
        labels={"x": "item popularity rank", "y": "interactions"},
    )
    fig.update_yaxes(dtick=1, tickformat="~s", minor=dict(showgrid=False))
    fig.update_layout(title="Item popularity (long tail)", height=320, margin=dict(t=50, b=10))
    return fig


def build_metric_bars(board: pd.DataFrame, metrics: list[str]) -> go.Figure:
    """Grouped bars: one group per metric, one bar per model (model names escaped)."""
    long = board.melt(id_vars="model", value_vars=metrics, var_name="metric", value_name="value")
    long["model"] = long["model"].map(_esc)
    fig = px.bar(long, x="metric", y="value", color="model", barmode="group")
    fig.update_layout(height=340, margin=dict(t=30, b=10), legend_title_text="")
    return fig


def build_deletion_curve(curve: DeletionCurve) -> go.Figure:
    """The item's rank as the explanation's top history items are removed, against random
    removals (mean of `curve.draws`); a steeper rise = a more faithful explanation."""
    m = list(range(len(curve.ranks)))
    fig = go.Figure(
        [
            go.Scatter(
                x=m, y=list(curve.ranks), name="explanation's top items", mode="lines+markers"
            ),
            go.Scatter(
                x=m,
                y=list(curve.random_ranks),
                name=f"random items (mean of {curve.draws})",
                mode="lines+markers",
                line=dict(dash="dot"),
            ),
        ]
    )
    ratio = curve.ratio(3) if len(curve.ranks) > 3 else float("nan")
    head = f"ratio@3 = {ratio:.1f}× random" if np.isfinite(ratio) else "deletion test"
    if curve.variant:  # say which re-scoring the ranks come from
        head += f"; {'user re-fitted' if curve.variant == 'refit' else 'learned user kept'}"
    fig.update_layout(
        title=dict(text=f"Deletion curve ({head})", font=dict(size=14)),
        xaxis=dict(title="history items removed", dtick=1),
        yaxis=dict(title="rank of the item (1 = top)", rangemode="tozero"),
        height=330,
        margin=dict(t=50, b=10, l=10, r=10),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def build_quality_scatter(frame: pd.DataFrame, x: str, y: str = "ndcg@20") -> go.Figure:
    """One point per model: accuracy (y) against an explanation-quality measure (x).

    frame: columns model, x, y (NaN rows are left out and say so in the title)."""
    ok = frame.dropna(subset=[x, y])
    fig = go.Figure(
        go.Scatter(
            x=ok[x],
            y=ok[y],
            mode="markers+text",
            text=[_esc(m) for m in ok["model"]],
            textposition="top center",
            marker=dict(size=13, color="#4e79a7"),
            hovertemplate=f"%{{text}}<br>{x}: %{{x:.2f}}<br>{y}: %{{y:.4f}}<extra></extra>",
        )
    )
    missing = len(frame) - len(ok)
    note = f" ({missing} model(s) without this measure)" if missing else ""
    fig.update_layout(
        title=dict(text=f"{y.upper()} vs {x}{note}", font=dict(size=14)),
        xaxis_title=x,
        yaxis_title=y.upper(),
        height=360,
        margin=dict(t=50, b=10, l=10, r=10),
    )
    return fig
