"""Small plotly charts for the overview and comparison pages (pure builders)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def build_activity_hist(per_user: np.ndarray) -> go.Figure:
    """Histogram of interactions per user."""
    fig = px.histogram(x=np.asarray(per_user), nbins=40, labels={"x": "interactions per user"})
    fig.update_layout(
        title="User activity", yaxis_title="users", height=320, margin=dict(t=50, b=10)
    )
    return fig


def build_popularity(per_item: np.ndarray) -> go.Figure:
    """Long-tail curve: interactions of each item, most popular first (log y)."""
    counts = np.sort(np.asarray(per_item))[::-1]
    fig = px.line(
        x=np.arange(1, len(counts) + 1),
        y=counts,
        log_y=True,
        labels={"x": "item popularity rank", "y": "interactions"},
    )
    fig.update_layout(title="Item popularity (long tail)", height=320, margin=dict(t=50, b=10))
    return fig


def build_metric_bars(board: pd.DataFrame, metrics: list[str]) -> go.Figure:
    """Grouped bars: one group per metric, one bar per model (model names escaped)."""
    long = board.melt(id_vars="model", value_vars=metrics, var_name="metric", value_name="value")
    long["model"] = long["model"].map(html.escape)
    fig = px.bar(long, x="metric", y="value", color="model", barmode="group")
    fig.update_layout(height=340, margin=dict(t=30, b=10))
    return fig
