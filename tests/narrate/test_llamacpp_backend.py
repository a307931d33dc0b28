"""The llama.cpp backend's wrapper logic with a stand-in `llama_cpp` module (the real library is
an optional extra; tests/narrate/test_llm_local.py runs it when installed)."""

from __future__ import annotations

import sys
import types

import pytest

from core.narrate.base import BackendError, Message
from core.narrate.llamacpp import LlamaCppBackend
from core.narrate.narrator import narrate
from tests.explain.test_grounding import hand_checker, hand_evidence

GOOD = "You liked Gravity, and The Martian was directed by Ridley Scott too."


def _fake_llama(monkeypatch, replies: list[dict]) -> list[dict]:
    calls: list[dict] = []

    class Llama:
        def __init__(self, model_path, **kw):
            calls.append({"init": model_path, **kw})

        def create_chat_completion(self, messages, temperature, max_tokens, grammar=None):
            calls.append({"messages": messages, "temperature": temperature, "grammar": grammar})
            return replies.pop(0)

    class LlamaGrammar:
        @staticmethod
        def from_string(text, verbose=True):
            return ("grammar", text)

    fake = types.SimpleNamespace(Llama=Llama, LlamaGrammar=LlamaGrammar)
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    return calls


def _reply(text: str, finish: str = "stop") -> dict:
    return {"choices": [{"finish_reason": finish, "message": {"content": text}}]}


def test_completes_through_the_library_and_is_checked(monkeypatch, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    calls = _fake_llama(monkeypatch, [_reply("The Martian rocks, like Mr. Nobody."), _reply(GOOD)])
    backend = LlamaCppBackend(gguf, threads=1)
    assert backend.model == "tiny" and calls[0]["init"] == str(gguf) and calls[0]["n_threads"] == 1
    result = narrate(hand_evidence(), backend, hand_checker())
    assert result.text == GOOD and result.backend == "llamacpp"
    assert [c["temperature"] for c in calls[1:]] == [0.7, 0.0]
    # constrained by the evidence's slot-filling grammar (core.narrate.constrained)
    assert calls[1]["grammar"][1].startswith('root ::= item " is recommended because "')


def test_truncated_and_empty_replies_are_errors(monkeypatch, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    _fake_llama(monkeypatch, [_reply("cut", "length"), _reply("  ")])
    backend = LlamaCppBackend(gguf)
    chat = [Message("user", "hi")]
    with pytest.raises(BackendError) as err:
        backend.complete(chat, temperature=0, max_tokens=4)
    assert err.value.kind == "truncated"
    with pytest.raises(BackendError) as err:
        backend.complete(chat, temperature=0, max_tokens=4)
    assert err.value.kind == "malformed"


def test_missing_model_file_or_library_is_unavailable(monkeypatch, tmp_path):
    _fake_llama(monkeypatch, [])
    with pytest.raises(BackendError, match="no GGUF model file") as err:
        LlamaCppBackend(tmp_path / "absent.gguf")
    assert err.value.kind == "unavailable"
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails
    with pytest.raises(BackendError, match="make llm"):
        LlamaCppBackend(tmp_path / "absent.gguf")
