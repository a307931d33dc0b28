"""The one interface every language-model backend implements, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ErrorKind = Literal["timeout", "http", "truncated", "malformed", "unavailable"]

# What a structured reply must look like when the server supports `response_format`.
REPLY_SCHEMA: dict = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


class BackendError(Exception):
    """A completion that produced no usable text; `kind` says why."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str  # the reply's text (from the JSON "text" field when structured)
    finish_reason: str
    latency_s: float
    structured: bool  # the server honoured response_format
    raw: dict = field(default_factory=dict, repr=False)  # the decoded reply, for debugging


class Backend(Protocol):
    """Completes a chat. Implementations are read-only after construction (one instance serves
    every dashboard session) and raise BackendError, never return partial text."""

    name: str  # "template", "openai", "llamacpp"
    model: str  # the model the backend talks to ("" for the template)

    def complete(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> Completion: ...

    def ping(self) -> tuple[bool, str]:
        """(answers, a one-line status) without generating text where possible."""
        ...
