"""One recommendation's explanation card: sentence, heatmap, KG graph, tables, what would change it.

`card_texts` is the pure part (plain strings from an Explanation); `show_explanation_card` lays the
pieces out and reports thumbs up/down through `on_feedback(vote, comment)`.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from app.components import kg_graph, tables
from app.components.heatmap import show_heatmap
from app.components.narration import show_narration
from core.explain.base import Explanation


def counterfactual_text(expl: Explanation) -> str:
    """'Without A and B this drops to rank 37 (score 0.12).' or a note that none was found."""
    cf = expl.counterfactual
    if cf is None:
        return ""
    names = list(cf.removed_names)
    who = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
    if not cf.valid:
        return f"No small history change drops it out of the top {cf.k} (tried removing {who})."
    return f"Without {who} this drops to rank {cf.new_rank} (score {cf.new_score:.3f})."


def fidelity_text(fid: dict | None) -> str:
    """One line from a deletion test (core.explain.fidelity.deletion_test on this explanation)."""
    if not fid:
        return ""
    parts = []
    for m in (1, 3):
        if f"drop@{m}" in fid:
            parts.append(
                f"removing its top {m} history item(s) moves the item down "
                f"{fid[f'drop@{m}']:.0f} places (random: {fid[f'random_drop@{m}']:.1f})"
            )
    auc = fid.get("auc")
    tail = f"; deletion AUC {auc:.3f} (lower = more faithful)" if isinstance(auc, float) else ""
    return "Fidelity: " + "; ".join(parts) + tail


def card_texts(expl: Explanation, title: str, fid: dict | None = None) -> dict[str, str]:
    """Plain-text parts of the card (markdown-escaping is left to the caller)."""
    return {
        "header": f"#{expl.rank} {title} — score {expl.score:.3f} ({expl.model}, {expl.method})",
        "sentence": expl.sentence,
        "counterfactual": counterfactual_text(expl),
        "fidelity": fidelity_text(fid),
    }


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
    heatmap: go.Figure | None = None,
    graph_html: str | None = None,
    on_feedback: Callable[[int, str], None] | None = None,
    fidelity: dict | None = None,
    narration=None,
) -> None:
    """Render the card; every data string goes through st.text / dataframes (no HTML).
    `narration` (core.narrate.narrator.Narration) replaces the sentence when a model is set."""
    texts = card_texts(expl, title, fidelity)
    if narration is not None:
        show_narration(st, narration, key)
    else:
        st.text(texts["sentence"] or "(no sentence)")
    if texts["counterfactual"]:
        st.text("What would change it: " + texts["counterfactual"])
    if texts["fidelity"]:
        st.caption(texts["fidelity"])
    if heatmap is not None:
        show_heatmap(st, heatmap, key=f"{key}-heat")
    if graph_html is not None:
        kg_graph.show_kg(st, graph_html)
    if expl.paths:
        st.dataframe(tables.paths_frame(expl), hide_index=True)
    edges = tables.edges_frame(expl)
    if not edges.empty:
        st.caption("Edge attributions")
        st.dataframe(edges, hide_index=True)
    contrib = tables.contributions_frame(expl, ["history_item", "entity", "attribute_type"])
    if not contrib.empty:
        st.caption("Contributions")
        st.dataframe(contrib.head(10), hide_index=True)
    if on_feedback is not None:
        _feedback(key, on_feedback)
