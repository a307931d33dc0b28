"""Charts of the Population page (pure builders; model names and data labels escaped)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.safe_text import plotly_text

PALETTE = ("#4e79a7", "#f28e2b")


def build_grouped(
    series: dict[str, list[dict]], x: str, y: str, title: str, pct: bool
) -> go.Figure:
    """One bar group per `x` value, one bar per model. series: model label -> rows {x, y}."""
    fig = go.Figure()
    for n, (label, rows) in enumerate(series.items()):
        frame = pd.DataFrame(rows, columns=[x, y])
        fig.add_bar(
            name=plotly_text(label),
            x=[plotly_text(v) for v in frame[x]],
            y=frame[y] * (100 if pct else 1),
            marker_color=PALETTE[n % len(PALETTE)],
        )
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        barmode="group",
        height=320,
        margin=dict(t=50, b=10, l=10, r=10),
        yaxis_title="% of recommendations" if pct else "users",
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def build_bubbles(series: dict[str, list[dict]], k: int, title: str) -> go.Figure:
    """Users per bubble value (share of the top-k sharing one driver), one bar per model."""
    as_items = {
        label: [{"value": f"{round(r['value'] * k)}/{k}", "users": r["users"]} for r in rows]
        for label, rows in series.items()
    }
    fig = build_grouped(as_items, "value", "users", title, pct=False)
    fig.update_xaxes(
        title="recommendations of the top-k sharing the most common one",
        categoryorder="array",
        categoryarray=[f"{i}/{k}" for i in range(k + 1)],
    )
    return fig
