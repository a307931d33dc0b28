"""The sidebar's language-model control: which backend narrates explanations, and whether it
answers. Defaults come from RECLENS_LLM_* (core.narrate.config); what is typed here overrides
them for this browser session only. The API key is read from the environment, never typed, and
goes only to the environment's endpoint (enforced by LLMSettings, issue 28).

With an admin role configured (app.auth) only admins may change the backend, endpoint or model;
a visitor sees which model narrates, may test whether it answers and pick the mode. Without
roles (a laptop) the control is open.
"""

from __future__ import annotations

import streamlit as st

from app import auth, state
from core.narrate import llamacpp
from core.narrate.base import BackendError
from core.narrate.config import LLMSettings
from core.narrate.endpoint import EndpointRefused, check_allowed
from core.narrate.narrator import MODES, Narration
from core.safe_text import md


def _defaults() -> LLMSettings:
    try:
        return LLMSettings.from_env()
    except ValueError:
        return LLMSettings()


def may_choose() -> bool:
    """Whether this session may change backend, endpoint or model (admins; anyone on a laptop)."""
    return auth.is_admin()


def settings() -> LLMSettings:
    """The settings in force for this session: the widgets' values when this session may choose,
    else the server's (whatever session_state holds). The key follows only the server's URL."""
    env = _defaults()
    if not may_choose():
        return env
    ss = st.session_state
    return env.choose(
        ss.get("llm_backend", env.backend),
        ss.get("llm_url", env.base_url),
        ss.get("llm_model", env.model),
    )


def mode() -> str:
    return st.session_state.get("llm_mode", MODES[0])


def _choose(env: LLMSettings) -> None:
    """The backend / endpoint / model widgets (for a session that may choose)."""
    choices = ["template", "openai"] + (["llamacpp"] if llamacpp.available() else [])
    start = env.backend if env.backend in choices else "template"
    st.session_state.setdefault("llm_backend", start)
    st.selectbox(
        "Backend",
        choices,
        key="llm_backend",
        help="template: no model; openai: any OpenAI-compatible server",
    )
    if st.session_state["llm_backend"] != "openai":
        return
    url = st.text_input(
        "Endpoint (API root)",
        value=env.base_url,
        key="llm_url",
        placeholder="http://127.0.0.1:11434/v1",
    )
    st.text_input("Model", value=env.model, key="llm_model")
    if url.strip():
        try:  # say it now; make_backend refuses it again before any request
            check_allowed(url, env.allowed_urls, env.server_url)
        except EndpointRefused as err:
            st.error(md(err))


def _show(env: LLMSettings) -> None:
    """What a visitor sees: which model narrates (not where it runs)."""
    what = "the template (no language model)" if env.backend == "template" else env.backend
    if env.model:
        what += f" · {env.model}"
    st.caption(f"Narrated by {md(what)}.")
    st.caption("Only an administrator of this server may change the language model.")


def render() -> None:
    """Draw the control in the sidebar."""
    env = _defaults()
    with st.sidebar.expander("Language model"):
        (_choose if may_choose() else _show)(env)
        st.radio(
            "Mode",
            MODES,
            key="llm_mode",
            horizontal=True,
            help="polish rewrites the template; narrate writes from the paths",
        )
        if st.button("Test connection", key="llm_ping"):
            ok, message = state.llm_ping(settings())
            (st.success if ok else st.error)(md(message))


def narration(sel, model: str, user: int, item: int, method: str, k: int) -> Narration | None:
    """The checked narration of one explanation under this session's settings (cached); None
    for the template backend, or when the backend cannot be built (its error is shown)."""
    cfg = settings()
    if cfg.backend == "template":
        return None  # the card shows the template sentence as it always did
    try:
        return state.narration(sel.key(model), sel.dataset_path, user, item, method, k, cfg, mode())
    except (ValueError, BackendError) as err:  # e.g. an endpoint without a model name
        st.warning(f"Language model not used: {md(err)}")
        return None


def feedback_fields(n: Narration | None) -> dict:
    """What a vote on this narration records about it (nothing for the plain template)."""
    if n is None or n.backend == "template":
        return {}
    return {"llm_backend": n.backend, "llm_model": n.model, "llm_verdict": n.verdict}
