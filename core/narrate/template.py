"""The default backend: no language model; the narrator shows the template sentence."""

from __future__ import annotations

from core.narrate.base import BackendError, Completion, Message


class TemplateBackend:
    name = "template"
    model = ""

    def complete(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> Completion:
        raise BackendError("unavailable", "the template backend generates no text")

    def ping(self) -> tuple[bool, str]:
        return True, "template sentences (no language model configured)"
