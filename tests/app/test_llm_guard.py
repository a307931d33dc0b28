"""Issue 28 in the dashboard: on a team server (RECLENS_ADMIN_TOKEN and RECLENS_LLM_API_KEY set)
a visitor cannot point the server's language-model client anywhere, the key never goes to a URL
typed in a session, and nothing an endpoint answers is shown; an admin can still choose an
endpoint; a laptop stays open; the allow-list refuses other endpoints before any request.

The listener (tests.narrate.probe_server) stands for an address only the server can reach."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.data import load_dataset
from tests.app.conftest import MAIN
from tests.narrate.probe_server import SECRET, ProbeServer

KEY = "sk-server-secret-28"
TOKEN = "let-me-in"
NOWHERE = "http://127.0.0.1:9/v1"  # the server's configured endpoint where none should answer


def _server(monkeypatch, base_url: str = NOWHERE, admin: bool = True) -> None:
    if admin:
        monkeypatch.setenv("RECLENS_ADMIN_TOKEN", TOKEN)
    else:
        monkeypatch.delenv("RECLENS_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("RECLENS_LLM_API_KEY", KEY)
    monkeypatch.setenv("RECLENS_LLM_BASE_URL", base_url)
    monkeypatch.setenv("RECLENS_LLM_MODEL", "server-model")
    monkeypatch.delenv("RECLENS_LLM_ALLOWED_URLS", raising=False)


def shown(at: AppTest) -> str:
    """Every text the page shows (values, bodies, labels), sidebar included."""
    out: list[str] = []

    def walk(node) -> None:
        for attr in ("value", "body", "label", "message"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                out.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(out)


def _explorer(tiny_env) -> AppTest:
    ds = load_dataset(tiny_env.data)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(page="user_explorer", model="kgat", user=ds.user_ids.to_raw(4))
    return at


def test_a_visitor_cannot_send_the_key_to_their_url_nor_read_it_back(tiny_env, monkeypatch):
    _server(monkeypatch)
    with ProbeServer() as probe:
        at = _explorer(tiny_env)
        # what the sidebar let any visitor type before issue 28, and a crafted session's state
        at.session_state["llm_backend"] = "openai"
        at.session_state["llm_url"] = probe.url
        at.session_state["llm_model"] = "any"
        at.run()  # the card narrates under this session's settings
        at.button(key="llm_ping").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(KEY in h for h in probe.keys_seen())
    assert probe.requests == []  # a visitor's URL is not used at all
    assert SECRET not in shown(at)
    assert not [t for t in at.text_input if t.key in ("llm_url", "llm_model")]
    assert any("server-model" in c.value.replace("\\", "") for c in at.sidebar.caption)
    assert any("does not answer" in e.value for e in at.sidebar.error)  # the server's endpoint


def test_a_visitor_sees_whether_the_servers_model_answers(tiny_env, monkeypatch):
    with ProbeServer() as probe:
        _server(monkeypatch, base_url=probe.url)
        at = AppTest.from_file(MAIN, default_timeout=120).run()
        at.button(key="llm_ping").click().run()
    assert [s.value.replace("\\", "") for s in at.sidebar.success] == [
        "The endpoint answers but does not list the model 'server-model'."
    ]  # in Markdown-escaped form on the page
    assert SECRET not in shown(at)
    assert probe.keys_seen() == [f"Bearer {KEY}"]  # the server's own endpoint gets its key


def _sign_in(at: AppTest) -> AppTest:
    at.query_params["page"] = "train"
    at.run()
    at.text_input(key="admin_token").input(TOKEN).run()
    return at


def test_an_admin_can_set_an_endpoint_which_gets_no_key(tiny_env, monkeypatch):
    _server(monkeypatch)
    with ProbeServer() as probe:
        at = _sign_in(AppTest.from_file(MAIN, default_timeout=120))
        at.selectbox(key="llm_backend").set_value("openai").run()
        at.text_input(key="llm_url").input(probe.url).run()
        at.text_input(key="llm_model").input("m").run()
        at.button(key="llm_ping").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("The endpoint answers" in s.value for s in at.sidebar.success)
    assert [r["path"] for r in probe.requests] == ["/v1/models"] and probe.keys_seen() == []
    assert SECRET not in shown(at)


def test_laptop_mode_stays_open_and_the_allow_list_refuses_first(tiny_env, monkeypatch):
    _server(monkeypatch, admin=False)
    with ProbeServer() as probe:
        at = AppTest.from_file(MAIN, default_timeout=120).run()
        at.selectbox(key="llm_backend").set_value("openai").run()
        at.text_input(key="llm_url").input(probe.url).run()
        at.text_input(key="llm_model").input("m").run()
        at.button(key="llm_ping").click().run()
        assert any("The endpoint answers" in s.value for s in at.sidebar.success)
        assert len(probe.requests) == 1 and probe.keys_seen() == []
        monkeypatch.setenv("RECLENS_LLM_ALLOWED_URLS", "http://127.0.0.1:1/v1")
        at.run()
        assert any("not allowed on this server" in e.value for e in at.sidebar.error)
        at.button(key="llm_ping").click().run()
        assert len(probe.requests) == 1  # refused before any request
    assert sum("not allowed on this server" in e.value for e in at.sidebar.error) == 2


def test_a_narration_error_does_not_show_the_endpoints_reply(tiny_env, monkeypatch):
    with ProbeServer(status=500) as probe:
        _server(monkeypatch, base_url=probe.url, admin=False)
        at = _explorer(tiny_env).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(r["method"] == "POST" for r in probe.requests)
    assert any(t.value == "http: HTTP 500" for t in at.text)
    assert SECRET not in shown(at)
