"""Who may do what: destructive or expensive actions (train, overwrite, delete) need an admin
when one is configured, and are open when none is (a laptop).

Configure one of:
- OIDC sign-in through Streamlit's `st.login` (an `[auth]` section in `.streamlit/secrets.toml`)
  with `RECLENS_ADMINS` = comma-separated e-mail addresses of the admins;
- a shared token, `RECLENS_ADMIN_TOKEN`, that an admin types once per browser session.
"""

from __future__ import annotations

import hmac
import os
from typing import Literal

import streamlit as st

Mode = Literal["open", "token", "oidc"]


def admin_emails() -> set[str]:
    raw = os.environ.get("RECLENS_ADMINS", "")
    return {e.strip().lower() for e in raw.split(",") if e.strip()}


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than return empty
        return False


def mode() -> Mode:
    if _oidc_configured() and admin_emails():
        return "oidc"
    if os.environ.get("RECLENS_ADMIN_TOKEN"):
        return "token"
    return "open"


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (no timing hint about the token)."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def is_admin() -> bool:
    current = mode()
    if current == "open":
        return True
    if current == "token":
        return bool(st.session_state.get("_admin"))
    user = st.user
    return bool(user.is_logged_in) and str(user.get("email", "")).lower() in admin_emails()


def _check_token() -> None:
    given = st.session_state.get("admin_token", "")
    st.session_state["_admin"] = token_matches(given, os.environ.get("RECLENS_ADMIN_TOKEN", ""))
    st.session_state["_admin_tried"] = True


def require_admin(action: str) -> bool:
    """True when this session may `action`; otherwise shows how to become admin, returns False."""
    if is_admin():
        return True
    st.info(f"To {action} you need to be an administrator of this server.")
    if mode() == "token":
        st.text_input("Admin token", type="password", key="admin_token", on_change=_check_token)
        if st.session_state.get("_admin_tried"):
            st.error("That admin token is not right.")
    elif not st.user.is_logged_in:
        st.button("Sign in", on_click=st.login, key="admin_login")
    else:
        st.warning("Your account is not on this server's admin list (RECLENS_ADMINS).")
    return False
