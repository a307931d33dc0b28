"""Attention heatmap: recommended items (rows) x history items (columns)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.safe_text import plotly_text


def _unique_labels(labels: Sequence[str], max_len: int = 32) -> list[str]:
    """Escaped, shortened labels made unique by position (plotly merges equal category labels)."""
    out = []
    for i, label in enumerate(labels):
        text = str(label)
        text = text if len(text) <= max_len else text[: max_len - 1] + "…"
        # plotly parses tags in text but shows quotes as they are, so only <, > and & are escaped
        out.append(f"{i + 1}. {plotly_text(text)}")
    return out


def build_heatmap(
    weights: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "Attention: recommended items × history",
) -> go.Figure:
    """Heatmap of `weights` float [C, T]: row c = recommended item c, column t = history item t.

    Every label is HTML-escaped because plotly interprets a subset of HTML in text.
    """
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"weights {w.shape} do not match {len(row_labels)}x{len(col_labels)} labels"
        )
    rows, cols = _unique_labels(row_labels), _unique_labels(col_labels)
    full = [[f"{plotly_text(r)}<br>× {plotly_text(c)}" for c in col_labels] for r in row_labels]
    fig = go.Figure(
        go.Heatmap(
            z=w,
            x=cols,
            y=rows,
            customdata=full,
            colorscale="Blues",
            colorbar=dict(thickness=12),
            hovertemplate="%{customdata}<br>weight: %{z:.3f}<extra></extra>",
        )
    )
    # automargin makes room for the longest label, so the report (a fixed-width page, no
    # Streamlit container to stretch into) shows every label in full
    fig.update_layout(
        title=dict(text=plotly_text(title), font=dict(size=14)),
        height=max(300, 30 * len(rows) + 230),
        margin=dict(l=10, r=10, t=50, b=10),
        yaxis=dict(autorange="reversed", automargin=True, tickfont=dict(size=11)),
        xaxis=dict(tickangle=-40, automargin=True, tickfont=dict(size=11)),
    )
    return fig


def show_heatmap(st, fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", key=key)
