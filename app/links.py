"""Share links: `?page=...&dataset=...&model=...&user=...&item=...&method=...&k=...&models=...`
carry the whole view and restore it.

The dataset travels by its name (never a server path); `models` is the Compare page's model set,
comma-separated. On the first run of a session the link's values are parked in session_state as
`link_<name>`; each widget consumes its value (validated, an invalid one reported as escaped
text) before it is drawn. Every page then writes its current view back to the URL and shows the
link to copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

import streamlit as st

from core.safe_text import md

# half / profile / title / attr: the Profile builder's new user (raw item ids, comma-separated)
# and new item (its title; its RELATION=ENTITY attributes joined by ";")
PARAMS = ("dataset", "model", "user", "item", "method", "k", "models", "half", "profile",
          "title", "attr")  # fmt: skip


def boot(pages: Mapping[str, object]):
    """First run only: park link values; return the page the link asks for (or None)."""
    if st.session_state.get("_booted"):
        return None
    st.session_state["_booted"] = True
    for name in PARAMS:
        if name in st.query_params:
            st.session_state[f"link_{name}"] = st.query_params[name]
    return pages.get(st.query_params.get("page", ""))


def goto(page: str, **params: object) -> None:
    """Open `page` with `params` as if from a link (a drill-down): park the values as `boot`
    does, then rerun; app/main.py switches to the page (`pending`)."""
    for name, value in params.items():
        if name in PARAMS and value is not None:
            st.session_state[f"link_{name}"] = str(value)
    st.session_state["_goto"] = page
    st.rerun()


def pending(pages: Mapping[str, object]):
    """The page a drill-down asked for (once), or None."""
    return pages.get(st.session_state.pop("_goto", ""))


def set_page(name: str) -> None:
    st.session_state["_page"] = name


def _refuse(what: str, value: object) -> None:
    st.error(f"The link asks for {what} '{md(value)}', which is not available here.")


def take(name: str, widget_key: str, valid: Iterable[str], what: str) -> None:
    """Move a parked link value into the widget's state, or show why it cannot be used."""
    value = st.session_state.pop(f"link_{name}", None)
    if value is None:
        return
    if value in set(valid):
        st.session_state[widget_key] = value
    else:
        _refuse(what, value)


def take_mapped(name: str, widget_key: str, mapping: Mapping[str, str], what: str) -> None:
    """Like `take`, for a link value that names an option (a dataset's name -> its path)."""
    value = st.session_state.pop(f"link_{name}", None)
    if value is None:
        return
    if value in mapping:
        st.session_state[widget_key] = mapping[value]
    else:
        _refuse(what, value)


def take_int(name: str, widget_key: str, low: int, high: int, what: str) -> None:
    """A parked integer (K) within [low, high] into the widget's state."""
    value = st.session_state.pop(f"link_{name}", None)
    if value is None:
        return
    if value.isdigit() and low <= int(value) <= high:
        st.session_state[widget_key] = int(value)
    else:
        _refuse(what, value)


def take_list(name: str, widget_key: str, valid: Sequence[str], what: str) -> None:
    """A parked comma-separated list (Compare's models) into a multiselect's state; the
    widget's remembered list is cut to `valid` either way (a new dataset offers other models)."""
    state = st.session_state
    value = state.pop(f"link_{name}", None)
    if value is not None:
        wanted = [v for v in value.split(",") if v]
        unknown = [v for v in wanted if v not in valid]
        if unknown:
            _refuse(what, ",".join(unknown))
        state[widget_key] = [v for v in wanted if v in valid]
    elif widget_key in state:
        state[widget_key] = [v for v in state[widget_key] if v in valid]


def query(**params: object) -> str:
    """The query string of the current page with `params` (None values left out)."""
    values = {"page": st.session_state.get("_page", "overview")}
    for k, v in params.items():
        if v is None:
            continue
        values[k] = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return "?" + urlencode(values)


def show(**params: object) -> str:
    """Write the view to the URL and show the shareable link; returns the query string."""
    qs = query(**params)
    st.query_params.from_dict(dict(parse_qsl(qs[1:])))
    base = (st.context.url or "").split("?")[0].rstrip("/")
    page = st.session_state.get("_page", "")
    if page and base.endswith("/" + page):  # st.context.url carries the page's own path
        base = base[: -len(page) - 1]
    st.caption("Link to this view (copy to share):")
    # plain text: st.code would make the browser fetch a 1.6 MB syntax highlighter for it
    st.text(f"{base}/{qs}")
    return qs
