"""One recommendation's explanation card, complete by default: the sentence, what would change
it (counterfactual), the deletion curve with its ratio to random, the KG subgraph, the top
paths with their shares, the heatmap, and the contributions.

`card_texts` is the pure part (plain strings); `show_explanation_card` lays the pieces out and
reports thumbs up/down through `on_feedback(vote, comment)`. Data text is shown as text: through
`st.text` / dataframes, or markdown with every markdown character escaped (`md`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components import kg_graph, tables
from app.components.charts import build_deletion_curve
from app.components.heatmap import show_heatmap
from app.components.narration import show_narration
from core.explain.base import Counterfactual, Explanation
from core.explain.fidelity import DeletionCurve
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
    if drop == 0:
        moved = f"does not move the item (rank {curve.ranks[0]} stays)"
    else:
        moved = f"moves the item down {_places(drop)}"
    tail = f" ({ratio:.1f}× random)" if np.isfinite(ratio) else ""
    return (
        f"Removing the 3 history items this explanation ranks highest {moved}; removing 3 "
        f"random ones moves it {rand:.1f} places on average{tail}."
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


# The script thread pauses this long before the re-scoring parts, so the server's event loop
# (same process, same GIL) sends the card drawn so far at once: on the 2-core machine at load
# ~6.5 the graph, paths and heatmap reached the browser 2.3 s after they were written while the
# re-scoring held the GIL, 0.9 s with the pause (one run each; issue 15 note).
SEND_PAUSE_S = 0.1


@dataclass(frozen=True)
class Measured:
    """The card's re-scoring parts (seconds for graph models, so they are drawn last)."""

    curve: DeletionCurve | None = None
    counterfactual: Counterfactual | None = None
    counterfactual_note: str = ""  # why there is no counterfactual, when there is none
    sentence: str = ""  # the sentence the deletion curve supports (core.explain.headline)


@dataclass(frozen=True)
class CardParts:
    """Everything the card shows besides the explanation; None = not available for the model.

    measure: computes the re-scoring parts; the card calls it after drawing the rest, so the
    graph, paths and heatmap reach the browser first."""

    heatmap: go.Figure | None = None
    graph_html: str | None = None
    paths: pd.DataFrame | None = None
    contributions: pd.DataFrame | None = None
    edges: pd.DataFrame | None = None
    measure: Callable[[], Measured] = Measured


def _feedback(key: str, on_feedback: Callable[[int, str], None]) -> None:
    comment = st.text_input("Comment (optional)", key=f"{key}-comment")
    up, down = st.columns(2)
    if up.button("Helpful", icon=":material/thumb_up:", key=f"{key}-up"):
        on_feedback(1, comment)
        st.success("Thanks, feedback saved.")
    if down.button("Not helpful", icon=":material/thumb_down:", key=f"{key}-down"):
        on_feedback(-1, comment)
        st.success("Thanks, feedback saved.")


def _show_measured(m: Measured, expl, title: str, key: str, slots) -> None:
    sentence_slot, cf_slot, curve_slot = slots
    if m.sentence and m.sentence != expl.sentence and sentence_slot is not None:
        sentence_slot.markdown(f"**{md(m.sentence)}**")  # what the measurement supports
    texts = card_texts(expl, title, m.curve, m.counterfactual)
    if texts["counterfactual"]:
        cf_slot.markdown("What would change it: " + md(texts["counterfactual"]))
    elif m.counterfactual_note:
        cf_slot.caption(m.counterfactual_note)
    else:
        cf_slot.empty()
    with curve_slot.container():
        if m.curve is not None:
            st.plotly_chart(build_deletion_curve(m.curve), key=f"{key}-curve")
            st.caption(texts["fidelity"])
        else:
            st.caption("No deletion test: this model cannot re-score an edited history.")


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
    sentence_slot = None
    if narration is not None:
        show_narration(st, narration, key)
    else:
        sentence_slot = st.empty()
        sentence_slot.markdown(f"**{md(expl.sentence or 'No sentence for this explanation.')}**")
    cf_slot = st.empty()
    if parts.graph_html is not None:
        st.caption("Knowledge-graph evidence")
        kg_graph.show_kg(st, parts.graph_html)
    else:
        st.caption("This explanation has no knowledge-graph subgraph.")
    if parts.paths is not None and not parts.paths.empty:
        st.caption("Top paths")
        # a static table wraps, so every path shows in full; st.table renders its cells as
        # Markdown, so each cell goes through the one escaping rule (data names stay text)
        st.table(parts.paths.map(md).set_index("share"))
        st.caption(tables.PATHS_CAPTION)
    if narrow:
        heat_col = curve_col = st.container()
    else:
        heat_col, curve_col = st.columns([3, 2])
    with curve_col:
        curve_slot = st.empty()
        curve_slot.caption("Measuring the deletion curve (re-scores the model)…")
    if parts.heatmap is not None:
        with heat_col:
            show_heatmap(st, parts.heatmap, key=f"{key}-heat")
    evidence = [
        (name, frame)
        for name, frame in (("Contributions", parts.contributions), ("Edges", parts.edges))
        if frame is not None and not frame.empty
    ]
    for (name, frame), col in zip(evidence, st.columns(max(1, len(evidence))), strict=False):
        col.caption(name)
        col.dataframe(frame.head(10), hide_index=True, width="stretch")
    time.sleep(SEND_PAUSE_S)  # let the server send what is drawn (see SEND_PAUSE_S)
    _show_measured(parts.measure(), expl, title, key, (sentence_slot, cf_slot, curve_slot))
    if on_feedback is not None:
        _feedback(key, on_feedback)
