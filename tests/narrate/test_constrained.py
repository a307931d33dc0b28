"""The slot-filling grammar of core.narrate.constrained: every text it admits passes the check
on the hand-built evidence, and the narrator sends it only when asked to constrain."""

from __future__ import annotations

import itertools

from core.narrate.base import Completion
from core.narrate.constrained import grammar, reasons
from core.narrate.narrator import narrate
from tests.explain.test_grounding import hand_checker, hand_evidence


def test_every_text_the_grammar_admits_is_grounded():
    ev, checker = hand_evidence(), hand_checker()
    found = reasons(ev)
    assert len(found) == 6  # two wordings of each of the three paths
    head = f'"{ev.item_name}" is recommended because '
    texts = [head + r + "." for r in found]
    texts += [head + a + ". Also, " + b + "." for a, b in itertools.permutations(found, 2)]
    for text in texts:
        report = checker.check(text, ev)
        assert report.grounded, (text, report.violations)
    assert 'root ::= item " is recommended because "' in grammar(ev)


class _Recorder:
    name, model = "llamacpp", "fake"

    def __init__(self) -> None:
        self.kwargs: list[dict] = []

    def complete(self, messages, *, temperature, max_tokens, **kw) -> Completion:
        self.kwargs.append(kw)
        text = '"The Martian" is recommended because you liked "Gravity", which is also ' \
            'directed by "Ridley Scott".'  # fmt: skip
        return Completion(text, "stop", 0.0, False)


def test_the_narrator_sends_the_grammar_to_llamacpp_unless_told_not_to():
    ev, checker = hand_evidence(), hand_checker()
    rec = _Recorder()
    result = narrate(ev, rec, checker)  # the llama.cpp backend is constrained by default
    assert result.source == "llm" and rec.kwargs == [{"grammar": grammar(ev)}]
    rec = _Recorder()
    narrate(ev, rec, checker, constrain=False)
    assert rec.kwargs == [{}]
