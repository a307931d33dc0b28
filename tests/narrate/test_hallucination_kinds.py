"""Every hallucination kind of issue 26, returned by a fake OpenAI-compatible server, yields the
template; faithful paraphrases in every surface form are shown. The texts are the labelled
benchmark's (benchmarks/grounding_cases.py) on the hand-built evidence of
tests/explain/test_grounding.py, plus the issue's own examples written for that evidence."""

from __future__ import annotations

import random

import pytest

from benchmarks.grounding_cases import FORMS, KINDS, faithful, hallucinations, main_fact
from core.narrate.narrator import narrate
from core.narrate.openai_compat import OpenAICompatBackend
from tests.explain.test_grounding import hand_checker, hand_evidence
from tests.narrate.fake_server import FakeServer, chat

# the issue's examples, on "The Martian" (P1: Gravity -directed_by-> Ridley Scott)
ISSUE = {
    "foreign_person": 'Recommended because you liked "Gravity", which, like "The Martian", is '
    'linked to "Steven Spielberg" (directed by).',
    "award": 'Recommended because you liked "Gravity", which, like "The Martian", is linked to '
    '"Ridley Scott" (directed by), and it won an Oscar.',
    "critic": '"The Martian" is linked to "Ridley Scott" (directed by); critics call it a '
    "masterpiece.",
    "company": '"The Martian" is directed by "Ridley Scott", and it was produced by Warner Bros.',
    "style": '"The Martian", directed by "Ridley Scott", a gripping Hitchcock-style thriller.',
    "trending": '"The Martian" is recommended because it is trending this week.',
    "user_story": '"The Martian" is directed by "Ridley Scott". You watched it with friends last '
    "weekend.",
    "invented_relation": '"The Martian" is a sequel to "Gravity", which you liked.',
}


def _cases():
    ev = hand_evidence()
    fact = main_fact(ev)
    rng = random.Random(0)
    made = hallucinations(fact, ev, rng, ["Mr. Nobody", "Drama"], ["country", "studio"])
    return ev, fact, {c.kind: c.text for c in made}


def _shown(text: str):
    with FakeServer(lambda body: chat(text)) as srv:
        backend = OpenAICompatBackend(srv.url, "fake", timeout=5)
        return narrate(hand_evidence(), backend, hand_checker())


def test_the_benchmark_builds_every_kind_on_the_hand_evidence():
    assert set(_cases()[2]) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_benchmark_hallucination_kind_yields_the_template(kind):
    text = _cases()[2][kind]
    result = _shown(text)
    assert result.source == "template" and result.fell_back, text
    assert result.text == hand_evidence().template and text not in result.text
    assert result.violations and all(text[v.start : v.end] == v.span for v in result.violations)


@pytest.mark.parametrize("kind", sorted(ISSUE))
def test_each_issue_example_yields_the_template(kind):
    result = _shown(ISSUE[kind])
    assert result.source == "template" and result.verdict == "failed", ISSUE[kind]


@pytest.mark.parametrize("form", FORMS)
def test_faithful_paraphrases_are_shown(form):
    ev, fact, _ = _cases()
    text = next(c.text for c in faithful(fact, random.Random(0)) if c.kind == form)
    result = _shown(text)
    assert result.source == "llm" and result.text == text, result.violations
