"""Issue 28 in core: the environment's API key goes only to the environment's endpoint, the
allow-list refuses other endpoints before any request, and nothing an endpoint answers (error
body, model list, TLS peer) reaches a message."""

from __future__ import annotations

import dataclasses

import pytest

from core.narrate.base import BackendError, Message
from core.narrate.config import LLMSettings, make_backend
from core.narrate.endpoint import EndpointRefused, normalise_url, parse_allowed
from core.narrate.openai_compat import OpenAICompatBackend
from tests.narrate.probe_server import SECRET, ProbeServer

KEY = "sk-server-secret"


def _env(url: str, **more: str) -> dict[str, str]:
    return {"RECLENS_LLM_BASE_URL": url, "RECLENS_LLM_MODEL": "m", "RECLENS_LLM_API_KEY": KEY,
            **more}  # fmt: skip


def test_the_key_stays_with_the_servers_endpoint_only():
    env = _env("http://llm.internal:8000/v1")
    assert LLMSettings.from_env(env).api_key == KEY
    assert LLMSettings.from_env(env, url="HTTP://LLM.internal:8000/v1/").api_key == KEY
    s = LLMSettings.from_env(env)
    for other in ("http://127.0.0.1:9/v1", "http://llm.internal:8001/v1", "https://x/v1"):
        assert LLMSettings.from_env(env, url=other).api_key == ""
        assert s.choose("openai", other, "m").api_key == ""
        assert dataclasses.replace(s, base_url=other).api_key == ""
        assert LLMSettings("openai", other, "m", KEY).api_key == ""  # no endpoint of its own
    assert s.choose("openai", env["RECLENS_LLM_BASE_URL"], "n").api_key == KEY
    assert KEY not in repr(s)


def test_a_typed_url_gets_no_key_on_the_wire():
    env = _env("http://127.0.0.1:9/v1")
    with ProbeServer() as probe:
        make_backend(LLMSettings.from_env(env).choose("openai", probe.url, "m")).ping()
        assert len(probe.requests) == 1 and probe.keys_seen() == []
        own = _env(probe.url)  # the server's own endpoint does get it
        make_backend(LLMSettings.from_env(own)).ping()
        assert probe.keys_seen() == [f"Bearer {KEY}"]


def test_the_allow_list_refuses_other_endpoints_before_any_request():
    with ProbeServer() as probe:
        env = _env("http://127.0.0.1:9/v1", RECLENS_LLM_ALLOWED_URLS="http://127.0.0.1:1/v1/")
        s = LLMSettings.from_env(env)
        assert s.allowed_urls == ("http://127.0.0.1:1/v1",)
        with pytest.raises(EndpointRefused, match="not allowed on this server"):
            make_backend(s.choose("openai", probe.url, "m"))
        with pytest.raises(EndpointRefused, match="not allowed"):
            make_backend(LLMSettings.from_env(env, url=probe.url))  # --llm-url too
        assert probe.requests == []
        make_backend(s.choose("openai", "http://127.0.0.1:1/v1", "m"))  # listed: fine
        make_backend(s)  # the server's own endpoint is always allowed
        allowed = f"{probe.url},http://127.0.0.1:1/v1"
        listed = LLMSettings.from_env(_env("", RECLENS_LLM_ALLOWED_URLS=allowed), url=probe.url)
        assert make_backend(listed).ping()[0] and len(probe.requests) == 1


def test_allow_list_format_and_normalisation():
    assert parse_allowed(" HTTPS://A.example:443/v1/ , http://b:80/x,") == (
        "https://a.example/v1",
        "http://b/x",
    )
    with pytest.raises(ValueError, match="RECLENS_LLM_ALLOWED_URLS"):
        parse_allowed("ftp://a/v1")
    for bad in ("http://u:p@h/v1", "http://h/v1?x=1", "file:///etc/passwd", "http:///v1"):
        with pytest.raises(EndpointRefused):
            normalise_url(bad)


@pytest.mark.parametrize("status", [200, 401, 500])
def test_ping_and_errors_never_read_back_the_reply(status):
    with ProbeServer(status) as probe:
        backend = OpenAICompatBackend(probe.url, "m", timeout=5)
        ok, msg = backend.ping()
        assert SECRET not in msg and ok == (status == 200)
        if status == 200:
            assert msg == "The endpoint answers but does not list the model 'm'."
            return
        assert f"HTTP {status}" in msg and "does not answer" in msg
        with pytest.raises(BackendError) as err:
            backend.complete([Message("user", "hi")], temperature=0, max_tokens=5)
        assert err.value.kind == "http" and SECRET not in str(err.value)
        assert str(err.value) == f"http: HTTP {status}"


def test_unreachable_and_timeout_in_our_words():
    with ProbeServer() as probe:
        url = probe.url
    ok, msg = OpenAICompatBackend(url, "m", timeout=1).ping()
    assert not ok and msg == "The endpoint does not answer (unavailable: cannot connect " \
        "(connection refused))."  # fmt: skip
