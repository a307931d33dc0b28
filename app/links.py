"""Deep links: `?page=...&dataset=...&model=...&user=...&item=...` restore a view.

On the first run of a session the link's values are parked in session_state as `link_<name>`;
each widget consumes its value (validated) before it is drawn. Every page then writes its current
view back to the URL and shows the link to copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode

import streamlit as st

PARAMS = ("dataset", "model", "user", "item")


def boot(pages: Mapping[str, object]):
    """First run only: park link values; return the page the link asks for (or None)."""
    if st.session_state.get("_booted"):
        return None
    st.session_state["_booted"] = True
    for name in PARAMS:
        if name in st.query_params:
            st.session_state[f"link_{name}"] = st.query_params[name]
    return pages.get(st.query_params.get("page", ""))


def set_page(name: str) -> None:
    st.session_state["_page"] = name


def take(name: str, widget_key: str, valid: Iterable[str], what: str) -> None:
    """Move a parked link value into the widget's state, or show why it cannot be used."""
    value = st.session_state.pop(f"link_{name}", None)
    if value is None:
        return
    if value in set(valid):
        st.session_state[widget_key] = value
    else:
        st.error(f"The link asks for {what} '{value}', which is not available here.")


def query(**params: str | None) -> str:
    """The query string of the current page with `params` (None values left out)."""
    values = {"page": st.session_state.get("_page", "overview")}
    values.update({k: str(v) for k, v in params.items() if v is not None})
    return "?" + urlencode(values)


def show(**params: str | None) -> str:
    """Write the view to the URL and show the shareable link; returns the query string."""
    qs = query(**params)
    st.query_params.from_dict(dict(parse_qsl(qs[1:])))
    base = (st.context.url or "").split("?")[0].rstrip("/")
    page = st.session_state.get("_page", "")
    if page and base.endswith("/" + page):  # st.context.url carries the page's own path
        base = base[: -len(page) - 1]
    st.caption("Link to this view (copy to share):")
    st.code(f"{base}/{qs}", language=None)
    return qs
