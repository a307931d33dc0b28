"""Self-contained HTML report of one user's explanations (plotly and vis-network inline).

Every data string is escaped; each graph document sits in an `<iframe srcdoc=...>` so its scripts
stay isolated and the file opens offline from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go

from core.explain.base import Explanation
from core.safe_text import html_text


@dataclass(frozen=True)
class ReportSection:
    """One recommendation in the report."""

    explanation: Explanation
    title: str  # the recommended item's title (unescaped)
    counterfactual: str = ""
    paths: pd.DataFrame | None = None
    heatmap: go.Figure | None = None
    graph_html: str | None = None


_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}
section{border-top:2px solid #4e79a7;margin-top:2em;padding-top:.5em}
iframe{width:100%;height:460px;border:1px solid #ddd}"""


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0)


def _section(sec: ReportSection, include_js: bool) -> str:
    e = html_text
    expl = sec.explanation
    parts = [
        f"<section><h2>#{expl.rank} {e(sec.title)}</h2>",
        f"<p>score {expl.score:.4f} · model {e(expl.model)} · method {e(expl.method)}</p>",
        f"<p><b>{e(expl.sentence)}</b></p>",
    ]
    if sec.counterfactual:
        parts.append(f"<p>What would change it: {e(sec.counterfactual)}</p>")
    if sec.heatmap is not None:
        parts.append(sec.heatmap.to_html(full_html=False, include_plotlyjs=include_js))
    if sec.graph_html is not None:
        parts.append(f'<iframe sandbox="allow-scripts" srcdoc="{e(sec.graph_html)}"></iframe>')
    if sec.paths is not None and not sec.paths.empty:
        parts.append(_table(sec.paths))
    parts.append("</section>")
    return "\n".join(parts)


def build_report_html(
    heading: str,
    facts: dict[str, str],
    history: pd.DataFrame,
    sections: Sequence[ReportSection],
) -> str:
    """The whole report as one HTML document; plotly.js is inlined once, before the first chart."""
    e = html_text
    facts_rows = "".join(
        f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in facts.items()
    )
    body, js_done = [], False
    for sec in sections:
        body.append(_section(sec, include_js=not js_done and sec.heatmap is not None))
        js_done = js_done or sec.heatmap is not None
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(heading)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{e(heading)}</h1><p>generated {stamp}</p>"
        f"<table>{facts_rows}</table><h2>History</h2>{_table(history)}"
        + "\n".join(body)
        + "</body></html>"
    )
