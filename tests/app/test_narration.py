"""Narration in the dashboard: the pure view builder, and AppTest of the user explorer pointed at
a fake OpenAI-compatible endpoint (checked text labelled, template one click away, violations on
failure, feedback recording backend/model/verdict, the sidebar's connection test)."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from app.components.narration import narration_view
from core.narrate.narrator import narrate
from core.narrate.template import TemplateBackend
from core.store.feedback import feedback_frame, feedback_url, open_feedback
from tests.app.conftest import MAIN
from tests.explain.test_grounding import hand_checker, hand_evidence
from tests.narrate.fake_server import FakeServer, chat


class _Scripted:
    name, model = "openai", "fake"

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages, *, temperature, max_tokens):
        from core.narrate.base import Completion

        return Completion(self.text, "stop", 0.0, True)


def test_view_of_checked_text_keeps_the_template_one_click_away():
    good = "You liked Gravity, and The Martian was directed by Ridley Scott too."
    view = narration_view(narrate(hand_evidence(), _Scripted(good), hand_checker()))
    assert view["text"] == good and "facts checked against the KG paths" in view["label"]
    assert "openai: fake" in view["label"] and view["template"] == hand_evidence().template
    assert view["violations"] == []


def test_view_lists_what_each_verified_span_rests_on():
    good = "You liked Gravity, and The Martian was directed by Ridley Scott [P1]."
    view = narration_view(narrate(hand_evidence(), _Scripted(good), hand_checker()))
    rests = {a["span"]: a["rests on"] for a in view["attributions"]}
    assert set(rests) == {"Gravity", "The Martian", "directed by", "Ridley Scott", "[P1]"}
    assert rests["Ridley Scott"] == "on P1" and rests["[P1]"].startswith("P1: you -> Gravity")
    assert '"The Martian" directed by "Ridley Scott"' in rests["directed by"]


def test_view_of_a_failed_check_shows_the_template_and_why():
    bad = "The Martian <b>rocks</b>, like Mr. Nobody."
    view = narration_view(narrate(hand_evidence(), _Scripted(bad), hand_checker()))
    assert view["text"] == hand_evidence().template and view["template"] is None
    assert "failed the grounding check" in view["label"]
    assert view["violations"] == [
        'unsupported: "b>rocks</b" is stated nowhere in the evidence',
        'foreign_entity: "Mr. Nobody" is not in the evidence',
    ]


def test_view_of_the_plain_template_has_no_label():
    view = narration_view(narrate(hand_evidence(), TemplateBackend(), hand_checker()))
    assert view["label"] is None and view["text"] == hand_evidence().template


def _item(body: dict) -> str:
    return re.search(r'Recommended item: "(.*)" \(rank', body["messages"][1]["content"]).group(1)


def _explorer(tiny_env, ds, monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("RECLENS_LLM_BASE_URL", url)
    monkeypatch.setenv("RECLENS_LLM_MODEL", "fake")
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(page="user_explorer", model="kgat", user=ds.user_ids.to_raw(4))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_card_shows_checked_model_text_and_feedback_records_it(tiny_env, monkeypatch):
    from core.data import load_dataset

    ds = load_dataset(tiny_env.data)
    with FakeServer(lambda body: chat(f"We think you will enjoy {_item(body)}.")) as srv:
        at = _explorer(tiny_env, ds, monkeypatch, srv.url)
        texts = [t.value for t in at.text]
        shown = next(t for t in texts if t.startswith("We think you will enjoy"))
        assert "<script>" in shown or "<img" in shown  # hostile titles stay literal text
        assert any("facts checked against the KG paths" in c.value for c in at.caption)
        assert any(e.label == "Template sentence" for e in at.expander)
        # the card's keys are bound to its user and item (app.selection.context_key)
        next(
            b for b in at.button if b.key.startswith("ue-card@") and b.key.endswith("-up")
        ).click().run()
    assert not at.exception
    row = feedback_frame(open_feedback(feedback_url(tiny_env.workspace))).iloc[-1]
    assert (row["llm_backend"], row["llm_model"], row["llm_verdict"]) == ("openai", "fake",
                                                                            "grounded")  # fmt: skip


def test_card_falls_back_to_the_template_with_the_violations(tiny_env, monkeypatch):
    from core.data import load_dataset

    ds = load_dataset(tiny_env.data)
    with FakeServer(lambda body: chat(f"{_item(body)} won 7777 awards.")) as srv:
        at = _explorer(tiny_env, ds, monkeypatch, srv.url)
    assert not any("7777" in t.value for t in at.text if not t.value.startswith("number:"))
    assert any("failed the grounding check" in c.value for c in at.caption)
    assert any(t.value.startswith("number: 7777") for t in at.text)


def test_sidebar_connection_test(tiny_env, monkeypatch):
    monkeypatch.delenv("RECLENS_LLM_BASE_URL", raising=False)
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    assert at.selectbox(key="llm_backend").value == "template"
    with FakeServer([]) as srv:
        at.selectbox(key="llm_backend").set_value("openai").run()
        at.text_input(key="llm_url").input(srv.url).run()
        at.text_input(key="llm_model").input("fake").run()
        at.button(key="llm_ping").click().run()
        assert any("answers" in s.value for s in at.success), [s.value for s in at.success]
    at.button(key="llm_ping").click().run()  # the server is gone now
    assert any("does not answer" in e.value for e in at.error)
