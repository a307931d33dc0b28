"""The OpenAI-compatible client and the narrator against a scripted fake server: request shape,
parsing, the retry at temperature 0 with the violations quoted, the fallback to the template, and
the metrics. The evidence is the hand-built one of tests/explain/test_grounding.py."""

from __future__ import annotations

import time

import pytest

from core.narrate.base import BackendError, Message
from core.narrate.config import LLMSettings, make_backend
from core.narrate.narrator import metrics, narrate
from core.narrate.openai_compat import OpenAICompatBackend
from core.narrate.template import TemplateBackend
from tests.explain.test_grounding import hand_checker, hand_evidence
from tests.narrate.fake_server import FakeServer, Reply, chat

GOOD = "You liked Gravity, and The Martian was directed by Ridley Scott too."
BAD = "The Martian, directed by Ridley Scott, is as gripping as Mr. Nobody."


def _run(script, mode="polish", timeout=5.0, **kw):
    with FakeServer(script) as srv:
        backend = OpenAICompatBackend(srv.url, "fake", api_key="sk-test", timeout=timeout)
        result = narrate(hand_evidence(), backend, hand_checker(), mode=mode, **kw)
    return result, srv


def test_good_answer_is_shown_and_the_request_is_well_formed():
    result, srv = _run([chat(GOOD)])
    assert (result.text, result.source, result.verdict) == (GOOD, "llm", "grounded")
    assert not result.fell_back and len(result.attempts) == 1
    (req,) = srv.posts
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["json"]
    assert body["model"] == "fake" and body["temperature"] == 0.7 and body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "[P1]" in body["messages"][1]["content"]  # the evidence's facts
    assert "Mr. Nobody" not in body["messages"][1]["content"]  # nothing beyond the evidence
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["text"]


def test_hallucination_is_retried_at_temperature_zero_with_the_violations_quoted():
    result, srv = _run([chat(BAD), chat(GOOD)])
    assert result.text == GOOD and result.verdict == "grounded"
    first, second = (r["json"] for r in srv.posts)
    assert first["temperature"] == 0.7 and second["temperature"] == 0.0
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == BAD
    assert '"Mr. Nobody" is not in the evidence' in second["messages"][3]["content"]


def test_two_failed_checks_show_the_template_and_the_violations():
    result, srv = _run([chat(BAD), chat(BAD)])
    ev = hand_evidence()
    assert result.text == ev.template and result.source == "template"
    assert result.verdict == "failed" and result.fell_back
    # the closed world also refuses the opinion, which no evidence states
    assert [(v.kind, v.span) for v in result.violations] == [
        ("unsupported", "gripping"),
        ("foreign_entity", "Mr. Nobody"),
    ]
    assert len(srv.posts) == 2
    assert BAD not in result.text  # the unverified text is kept only in attempts
    assert [a.text for a in result.attempts] == [BAD, BAD]


def test_malformed_json_is_retried_then_falls_back():
    result, srv = _run([Reply(body="not json {"), chat(GOOD)])
    assert result.verdict == "grounded" and len(srv.posts) == 2
    assert result.attempts[0].error.startswith("malformed")
    broken = Reply(body={"choices": [{"message": {"content": '{"text": '}}]})
    result, _ = _run([broken, Reply(body={"choices": []})])
    assert result.fell_back and [a.error.split(":")[0] for a in result.attempts] == [
        "malformed",
        "malformed",
    ]


def test_a_500_on_json_schema_is_retried_without_structured_output():
    def script(body: dict) -> Reply:
        if "response_format" in body:
            return Reply(500, {"error": "json_schema not supported"})
        return chat(GOOD, structured=False)

    result, srv = _run(script)
    assert result.verdict == "grounded" and result.text == GOOD
    assert ["response_format" in r["json"] for r in srv.posts] == [True, False]


def test_other_http_errors_fall_back_without_retry():
    result, srv = _run([Reply(401, {"error": "bad key"})])
    assert result.fell_back and result.attempts[0].error.startswith("http")
    assert len(srv.posts) == 1


def test_a_slow_reply_times_out_and_falls_back_quickly():
    t0 = time.perf_counter()
    result, srv = _run([Reply(delay=1.5, body=chat(GOOD).body)], timeout=0.3)
    assert time.perf_counter() - t0 < 1.4
    assert result.fell_back and result.text == hand_evidence().template
    assert result.attempts[0].error.startswith("timeout") and len(result.attempts) == 1


def test_truncated_reply_is_not_shown():
    result, _ = _run([chat(GOOD, finish="length"), chat(GOOD, finish="length")])
    assert result.fell_back and result.attempts[0].error.startswith("truncated")


def test_narrate_mode_asks_for_path_citations():
    cited = "The Martian was directed by Ridley Scott, who also directed Gravity [P1]."
    result, srv = _run([chat(cited)], mode="narrate")
    assert result.verdict == "grounded" and result.mode == "narrate"
    assert "[P1]" in srv.posts[0]["json"]["messages"][1]["content"].split("\n\n")[-1]


def test_metrics_over_scripted_runs():
    runs = [
        _run([chat(GOOD)])[0],  # grounded at once
        _run([chat(BAD), chat(GOOD)])[0],  # retried
        _run([chat(BAD), chat(BAD)])[0],  # fell back
        _run([Reply(401, {})])[0],  # erred
    ]
    m = metrics(runs)
    assert m.n == 4
    assert m.fallback_rate == 0.5 and m.retry_rate == 0.5 and m.error_rate == 0.25
    assert m.before.n_texts == 3 and m.before.explanation_hallucination == pytest.approx(2 / 3)
    assert m.after.explanation_hallucination == 0.0  # nothing false is ever shown
    assert m.latency_p50_s <= m.latency_p95_s


def test_ping_reports_whether_the_endpoint_answers():
    with FakeServer([]) as srv:
        ok, msg = OpenAICompatBackend(srv.url, "fake").ping()
        assert ok and "answers" in msg
        url = srv.url
    ok, msg = OpenAICompatBackend(url, "fake", timeout=1).ping()  # the server is gone
    assert not ok and "does not answer" in msg


def test_unreachable_endpoint_is_unavailable():
    with FakeServer([]) as srv:
        url = srv.url
    backend = OpenAICompatBackend(url, "fake", timeout=1)
    with pytest.raises(BackendError) as err:
        backend.complete([Message("user", "hi")], temperature=0, max_tokens=5)
    assert err.value.kind == "unavailable"


def test_template_backend_never_calls_a_model():
    result = narrate(hand_evidence(), TemplateBackend(), hand_checker())
    assert result.source == "template" and result.verdict == "template" and not result.fell_back
    assert result.attempts == () and result.report is not None


def test_settings_from_env_and_overrides():
    assert LLMSettings.from_env({}).backend == "template"
    env = {"RECLENS_LLM_BASE_URL": "http://h:1/v1", "RECLENS_LLM_MODEL": "m"}
    s = LLMSettings.from_env(env)
    assert (s.backend, s.base_url, s.model) == ("openai", "http://h:1/v1", "m")
    s = LLMSettings.from_env(env, url="http://other:2/v1", model="n")
    assert (s.base_url, s.model) == ("http://other:2/v1", "n")
    assert isinstance(make_backend(LLMSettings.from_env({})), TemplateBackend)
    with pytest.raises(ValueError, match="model name"):
        make_backend(LLMSettings.from_env({"RECLENS_LLM_BASE_URL": "http://h:1/v1"}))
    with pytest.raises(ValueError, match="http"):
        OpenAICompatBackend("file:///etc/passwd", "m")
    with pytest.raises(ValueError, match="RECLENS_LLM_TIMEOUT"):
        LLMSettings.from_env({"RECLENS_LLM_TIMEOUT": "soon"})


def test_a_reply_without_usable_text_is_asked_again_shorter_without_an_error_to_echo():
    result, srv = _run([Reply(body="not json {"), chat(GOOD)])
    second = srv.posts[1]["json"]["messages"]
    assert [m["role"] for m in second] == ["system", "user"]
    assert "one short sentence" in second[1]["content"] and "malformed" not in second[1]["content"]
    assert second[1]["content"].startswith(srv.posts[0]["json"]["messages"][1]["content"])
