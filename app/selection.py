"""Dependent widget state that cannot go stale.

A choice that depends on a context (the recommendation picked depends on dataset, model, user and
K; the explanation method on the model; the comment box on the user and item) lives under a
widget key derived from that context. A new context is therefore a new widget: the browser cannot
keep showing a label from the old list while the script uses another value, and the value is
re-derived each time: the link's value when one was given and is valid, else the previous choice
when it is still offered, else the first option. The picker, the card, the report and the share
link all read the one value the widget returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import streamlit as st

from core.safe_text import md

T = TypeVar("T")


def context_key(base: str, *context: object) -> str:
    """`base` bound to `context`: equal contexts give equal keys, any change a new key."""
    digest = hashlib.sha256(repr(context).encode("utf-8")).hexdigest()[:12]
    return f"{base}@{digest}"


def derive(previous: T | None, options: Sequence[T], link: T | None = None) -> T | None:
    """The value a re-created widget starts with: the link's value when offered, else the
    previous choice when still offered, else the first option (None without options)."""
    for candidate in (link, previous):
        if candidate is not None and candidate in options:
            return candidate
    return options[0] if len(options) else None


def bind(
    base: str,
    options: Sequence,
    context: tuple,
    link: str | None = None,
    what: str = "",
) -> str:
    """Prepare the widget key for `base` in `context` and seed its value; returns the key.

    link: the deep-link parameter (parked by `links.boot`) this widget consumes, once; an
    invalid one is reported (escaped) and ignored. Call `remember(base, value)` after drawing.
    """
    state = st.session_state
    key = context_key(base, *context)
    parked = state.pop(f"link_{link}", None) if link else None
    if parked is not None and parked not in options:
        st.error(f"The link asks for {what or link} '{md(parked)}', which is not available here.")
        parked = None
    if parked is not None or key not in state or state[key] not in options:
        state[key] = derive(state.get(f"_last_{base}"), options, parked)
    return key


def remember(base: str, value) -> None:
    """Keep the current choice, to carry it into the next context when still offered."""
    st.session_state[f"_last_{base}"] = value
