"""One recommendation's explanation card, complete by default: the sentence, what would change
it (counterfactual), the deletion curve with its ratio to random, the KG subgraph, the top
paths with their shares, the heatmap, and the contributions.

`card_texts` is the pure part (plain strings); `show_explanation_card` lays the pieces out and
reports thumbs up/down through `on_feedback(vote, comment)`. Data text is shown as text: through
`st.text` / dataframes, or markdown with every markdown character escaped (`md`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components import kg_graph, tables
from app.components.charts import build_deletion_curve
from app.components.heatmap import show_heatmap
from app.components.narration import show_narration
from core.explain.base import Counterfactual, Explanation
from core.explain.quality import DeletionCurve
from core.safe_text import md


def _names(names) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def counterfactual_text(expl: Explanation | Counterfactual | None) -> str:
    """'Without A and B this drops to rank 37 (score 0.120).' or a note that none was found."""
    cf = expl.counterfactual if isinstance(expl, Explanation) else expl
    if cf is None:
        return ""
    who = _names(cf.removed_names)
    if not cf.valid:
        return f"No small history change drops it out of the top {cf.k} (tried removing {who})."
    return f"Without {who} this drops to rank {cf.new_rank} (score {cf.new_score:.3f})."


def _places(n: float) -> str:
    return f"{n:.0f} place" + ("" if round(n) == 1 else "s")


def fidelity_text(curve: DeletionCurve | None) -> str:
    """One line from the explanation's deletion curve."""
    if curve is None or len(curve.ranks) < 4:
        return ""
    drop = curve.ranks[3] - curve.ranks[0]
    rand = curve.random_ranks[3] - curve.ranks[0]
    ratio = curve.ratio(3)
    times = f"{ratio:.1f}× random" if ratio == ratio and ratio != float("inf") else "random: none"
    return (
        f"Removing the 3 history items this explanation ranks highest moves the item down "
        f"{_places(drop)}; removing 3 random ones, {rand:.1f} on average ({times})."
    )


def card_texts(
    expl: Explanation,
    title: str,
    curve: DeletionCurve | None = None,
    cf: Counterfactual | None = None,
) -> dict[str, str]:
    """Plain-text parts of the card (escaping is left to the caller)."""
    return {
        "header": f"#{expl.rank} {title} — score {expl.score:.3f} ({expl.model}, {expl.method})",
        "sentence": expl.sentence,
        "counterfactual": counterfactual_text(cf or expl.counterfactual),
        "fidelity": fidelity_text(curve),
    }


@dataclass(frozen=True)
class CardParts:
    """Everything the card shows besides the explanation; None = not available for the model."""

    heatmap: go.Figure | None = None
    graph_html: str | None = None
    curve: DeletionCurve | None = None
    counterfactual: Counterfactual | None = None
    counterfactual_note: str = ""  # why there is no counterfactual, when there is none
    paths: pd.DataFrame | None = None
    contributions: pd.DataFrame | None = None
    edges: pd.DataFrame | None = None


def _feedback(key: str, on_feedback: Callable[[int, str], None]) -> None:
    comment = st.text_input("Comment (optional)", key=f"{key}-comment")
    up, down = st.columns(2)
    if up.button("Helpful", icon=":material/thumb_up:", key=f"{key}-up"):
        on_feedback(1, comment)
        st.success("Thanks, feedback saved.")
    if down.button("Not helpful", icon=":material/thumb_down:", key=f"{key}-down"):
        on_feedback(-1, comment)
        st.success("Thanks, feedback saved.")


def show_explanation_card(
    expl: Explanation,
    title: str,
    key: str,
    parts: CardParts,
    on_feedback: Callable[[int, str], None] | None = None,
    narrow: bool = False,
    narration=None,
) -> None:
    """Render the whole card. narrow: stack everything in one column (side-by-side views).
    `narration` (core.narrate.narrator.Narration) replaces the sentence when a model is set."""
    texts = card_texts(expl, title, parts.curve, parts.counterfactual)
    if narration is not None:
        show_narration(st, narration, key)
    else:
        st.markdown(f"**{md(texts['sentence'] or 'No sentence for this explanation.')}**")
    if texts["counterfactual"]:
        st.markdown("What would change it: " + md(texts["counterfactual"]))
    elif parts.counterfactual_note:
        st.caption(parts.counterfactual_note)
    if narrow:
        graph_col = curve_col = st.container()
    else:
        graph_col, curve_col = st.columns([3, 2])
    with graph_col:
        if parts.graph_html is not None:
            st.caption("Knowledge-graph evidence")
            kg_graph.show_kg(st, parts.graph_html)
        else:
            st.caption("This explanation has no knowledge-graph subgraph.")
    with curve_col:
        if parts.curve is not None:
            st.plotly_chart(build_deletion_curve(parts.curve), key=f"{key}-curve")
            st.caption(texts["fidelity"])
        else:
            st.caption("No deletion test: this model cannot re-score an edited history.")
    if parts.paths is not None and not parts.paths.empty:
        st.caption("Top paths")
        st.dataframe(
            parts.paths,
            hide_index=True,
            width="stretch",
            column_config={"path": st.column_config.TextColumn(width="large")},
        )
        st.caption(tables.PATHS_CAPTION)
    if parts.heatmap is not None:
        show_heatmap(st, parts.heatmap, key=f"{key}-heat")
    evidence = [
        (name, frame)
        for name, frame in (("Contributions", parts.contributions), ("Edges", parts.edges))
        if frame is not None and not frame.empty
    ]
    for (name, frame), col in zip(evidence, st.columns(max(1, len(evidence))), strict=False):
        col.caption(name)
        col.dataframe(frame.head(10), hide_index=True, width="stretch")
    if on_feedback is not None:
        _feedback(key, on_feedback)
