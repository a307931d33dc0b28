"""The explanation text of a card: checked language-model text or the template sentence.

`narration_view` is the pure part (plain strings from a Narration); `show_narration` hands them
to Streamlit as literal text (st.text / st.caption of our own labels), never Markdown or HTML:
model output is untrusted data like any title.
"""

from __future__ import annotations

from core.narrate.narrator import Narration

CHECKED = "Language-model text ({who}) · facts checked against the KG paths"
FAILED = "Template sentence · the language model's text ({who}) failed the grounding check"


def _who(n: Narration) -> str:
    return f"{n.backend}: {n.model}" if n.model else n.backend


def narration_view(n: Narration) -> dict:
    """label (None for the plain template), text, template (shown one click away when the text
    is the model's), violations (one line each, empty unless the check failed), errors, and
    attributions (span, kind, what it rests on) of the shown text."""
    if n.source == "llm":
        label: str | None = CHECKED.format(who=_who(n))
    elif n.fell_back:
        label = FAILED.format(who=_who(n))
    else:
        label = None
    return {
        "label": label,
        "text": n.text or "(no sentence)",
        "template": n.template if n.source == "llm" else None,
        "violations": [f"{v.kind}: {v.message}" for v in n.violations],
        # each verified span of the shown text and what it rests on (path, hop or number)
        "attributions": [
            {"span": a.span, "kind": a.kind, "rests on": a.what}
            for a in (n.report.attributions if n.report else ())
        ],
        "errors": [a.error for a in n.attempts if a.error],
    }


def show_narration(st, n: Narration, key: str) -> None:
    """Render the view; `st` is the streamlit module (or a container)."""
    view = narration_view(n)
    if view["label"]:
        st.caption(view["label"])
    st.text(view["text"])
    if view["attributions"]:
        with st.expander("What each phrase rests on"):
            # a dataframe shows cells as plain text: nothing the model wrote is rendered
            st.dataframe(view["attributions"], hide_index=True, key=f"{key}-attr")
    if view["template"] is not None:
        with st.expander("Template sentence"):
            st.text(view["template"])
    if view["violations"] or view["errors"]:
        with st.expander("Why the language model's text is not shown"):
            for line in view["violations"] + view["errors"]:
                st.text(line)
