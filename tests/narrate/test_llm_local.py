"""The real in-process model (SmolLM2-135M-Instruct through llama.cpp), when `make llm` installed
it: whatever it writes, only checked text or the template is shown, within a time bound."""

from __future__ import annotations

import time

import pytest

from core.narrate import llamacpp
from core.narrate.narrator import narrate
from tests.explain.test_grounding import hand_checker, hand_evidence

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(not llamacpp.available(), reason="the llm extra is not installed"),
]

BOUND_S = 240.0  # two attempts of <= 240 tokens on one core of a loaded, shared 2-core machine


@pytest.mark.parametrize("mode", ["polish", "narrate"])
def test_real_model_shows_only_checked_text(mode):
    backend = llamacpp.LlamaCppBackend(threads=1)
    ev, checker = hand_evidence(), hand_checker()
    t0 = time.perf_counter()
    try:
        result = narrate(ev, backend, checker, mode=mode)
    finally:
        backend.close()
    assert time.perf_counter() - t0 < BOUND_S
    assert result.attempts, "the model was asked"
    if result.source == "llm":
        assert checker.check(result.text, ev).grounded  # re-checked independently
    else:
        assert result.text == ev.template and result.fell_back
