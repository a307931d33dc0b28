"""The browser's primer: hidden elements sent at the very start of a session's first run.

Streamlit's frontend fetches the code of an element type (plotly's is a 4.7 MB chunk that takes
seconds to parse and run on a slow or busy machine; the tables' and iframes' are smaller) only
when the first element of that type arrives, and the server that serves those files is the
same Python process that is then computing the page. On a fresh server the first plotly chart
was the card's heatmap, so the heatmap came seconds after the rest of the card (see the issue
15 note). The primer makes the browser fetch and run that code while the server is still
importing torch and loading the model: the script sends it before it waits for the warm-up's
imports (app/main.py), with content the warm-up built first (app/boot.py, step 0).

It sits in the sidebar's first slot inside a container that a style rule hides, and is cleared
when the run ends (or replaced by the sidebar's first element on the next run).
"""

from __future__ import annotations

import streamlit as st

WAIT_S = 30.0  # for the warm-up's step 0; beyond that the page goes on without a primer
KEY = "reclens-primer"
# the primer's elements make the browser load their code; nobody is meant to see them
HIDE = f"<style>.st-key-{KEY} {{display: none;}}</style>"
EMPTY_DOC = "<!doctype html><html><body></body></html>"


def prime(w) -> object | None:
    """Send the primer on this session's first run; returns its slot (to clear) or None.

    `w` is the process's app.warm.WarmUp; without its content (it failed, or took longer than
    WAIT_S) nothing is sent."""
    if st.session_state.get("_primed"):
        return None
    st.session_state["_primed"] = True
    if not w.primer_ready.wait(WAIT_S) or w.primer is None:
        return None
    st.html(HIDE)  # style only: Streamlit puts it where it takes no space
    slot = st.sidebar.empty()
    with slot.container(key=KEY):
        st.plotly_chart(w.primer["figure"], config={"staticPlot": True, "displayModeBar": False})
        st.dataframe(w.primer["frame"], hide_index=True)  # the history and top-10 tables
        st.table(w.primer["frame"])  # the card's paths
        st.iframe(EMPTY_DOC, height=10)  # the card's graph
    return slot
