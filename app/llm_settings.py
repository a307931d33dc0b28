"""The sidebar's language-model control: which backend narrates explanations, and whether it
answers. Defaults come from RECLENS_LLM_* (core.narrate.config); what is typed here overrides
them for this browser session only. The API key is read from the environment, never typed.
"""

from __future__ import annotations

import streamlit as st

from app import state
from core.narrate import llamacpp
from core.narrate.base import BackendError
from core.narrate.config import LLMSettings
from core.narrate.narrator import MODES, Narration


def _defaults() -> LLMSettings:
    try:
        return LLMSettings.from_env()
    except ValueError:
        return LLMSettings()


def settings() -> LLMSettings:
    """The settings in force for this session (the widgets' values, else the environment)."""
    env = _defaults()
    ss = st.session_state
    return LLMSettings(
        backend=ss.get("llm_backend", env.backend),
        base_url=ss.get("llm_url", env.base_url).strip(),
        model=ss.get("llm_model", env.model).strip(),
        api_key=env.api_key,
        timeout=env.timeout,
        gguf=env.gguf,
    )


def mode() -> str:
    return st.session_state.get("llm_mode", MODES[0])


def render() -> None:
    """Draw the control in the sidebar."""
    env = _defaults()
    choices = ["template", "openai"] + (["llamacpp"] if llamacpp.available() else [])
    start = env.backend if env.backend in choices else "template"
    st.session_state.setdefault("llm_backend", start)
    with st.sidebar.expander("Language model"):
        st.selectbox(
            "Backend",
            choices,
            key="llm_backend",
            help="template: no model; openai: any OpenAI-compatible server",
        )
        if st.session_state["llm_backend"] == "openai":
            st.text_input(
                "Endpoint (API root)",
                value=env.base_url,
                key="llm_url",
                placeholder="http://127.0.0.1:11434/v1",
            )
            st.text_input("Model", value=env.model, key="llm_model")
        st.radio(
            "Mode",
            MODES,
            key="llm_mode",
            horizontal=True,
            help="polish rewrites the template; narrate writes from the paths",
        )
        if st.button("Test connection", key="llm_ping"):
            ok, message = state.llm_ping(settings())
            (st.success if ok else st.error)(message)


def narration(sel, model: str, user: int, item: int, method: str, k: int) -> Narration | None:
    """The checked narration of one explanation under this session's settings (cached); None
    for the template backend, or when the backend cannot be built (its error is shown)."""
    cfg = settings()
    if cfg.backend == "template":
        return None  # the card shows the template sentence as it always did
    try:
        return state.narration(sel.key(model), sel.dataset_path, user, item, method, k, cfg, mode())
    except (ValueError, BackendError) as err:  # e.g. an endpoint without a model name
        st.warning(f"Language model not used: {err}")
        return None


def feedback_fields(n: Narration | None) -> dict:
    """What a vote on this narration records about it (nothing for the plain template)."""
    if n is None or n.backend == "template":
        return {}
    return {"llm_backend": n.backend, "llm_model": n.model, "llm_verdict": n.verdict}
