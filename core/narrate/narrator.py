"""From Evidence to checked text: prompt a backend, check its answer, retry once, else template.

Modes: "polish" rephrases the template sentence (what small models can do); "narrate" writes
2-3 sentences from the evidence, each citing its path id. A text that fails the grounding check
is retried once at temperature 0 with the violations quoted; if that fails too, or the backend
errs, the template is shown. Unverified text is kept in `attempts` for inspection and metrics
but is never `Narration.text`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from core.explain.evidence import Evidence
from core.explain.grounding import (
    Checker,
    GroundingMetrics,
    GroundingReport,
    Violation,
    summarise,
)
from core.narrate.base import Backend, BackendError, Message
from core.narrate.constrained import grammar

Mode = Literal["polish", "narrate"]
MODES: tuple[Mode, ...] = ("polish", "narrate")
Verdict = Literal["grounded", "failed", "template"]
_NO_RETRY = ("timeout", "unavailable", "http")  # retrying these only doubles the wait

RULES = (
    "You explain why a recommender suggested an item to a user. Use only the facts you are "
    "given. Never add a name, a relation, a number or an opinion that is not in the facts, and "
    "write every name exactly as given."
)
SYSTEM = RULES + ' Reply with JSON {"text": "..."} and nothing else.'
# under a grammar (core.narrate.constrained) the reply is the plain text, names in quotes
SYSTEM_CONSTRAINED = RULES + " Reply with the explanation only, names in double quotes."


@dataclass(frozen=True)
class Attempt:
    temperature: float
    text: str | None  # None when the backend erred
    error: str | None
    report: GroundingReport | None
    latency_s: float


@dataclass(frozen=True)
class Narration:
    text: str  # what is shown as the explanation: checked model text, or the template
    source: Literal["llm", "template"]
    verdict: Verdict  # "template" when no model was asked
    violations: tuple[Violation, ...]  # of the last rejected attempt (empty when grounded)
    template: str
    backend: str
    model: str
    mode: Mode
    fell_back: bool  # a model was asked but the template is shown
    attempts: tuple[Attempt, ...]
    latency_s: float
    report: GroundingReport | None = None  # the check of `text` (template included)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "source": self.source,
            "verdict": self.verdict,
            "grounded": self.report.grounded if self.report else None,
            "violations": [v.__dict__ for v in self.violations],
            # what each span of the shown text rests on (path, hop or number)
            "attributions": [a.to_dict() for a in self.report.attributions] if self.report else [],
            "template": self.template,
            "backend": self.backend,
            "model": self.model,
            "mode": self.mode,
            "fell_back": self.fell_back,
            "attempts": [
                {
                    "temperature": a.temperature,
                    "text": a.text,
                    "error": a.error,
                    "grounded": a.report.grounded if a.report else None,
                    "latency_s": a.latency_s,
                }
                for a in self.attempts
            ],
            "latency_s": self.latency_s,
        }


def messages_for(
    ev: Evidence, mode: Mode, short: bool = False, constrained: bool = False
) -> list[Message]:
    """The chat a backend is sent: the system rules, the facts, and the task (`short` asks
    for one sentence, after a reply that was cut or broken; `constrained`: the reply follows
    a grammar, so it is asked for as plain text)."""
    if mode == "narrate" and ev.paths:
        task = (
            f'Write 2 or 3 sentences explaining why "{ev.item_name}" is recommended, naming '
            f'"{ev.item_name}". Each sentence uses one path and ends with its id in brackets, '
            "like [P1]."
        )
    else:
        task = (
            "Rewrite this explanation in plain, friendly English. Keep every name exactly as "
            f"written and add nothing:\n{ev.template or ev.item_name}"
        )
    if short:
        task += "\nAnswer in one short sentence" + (
            "." if constrained else ', as JSON {"text": "..."}.'
        )
    system = SYSTEM_CONSTRAINED if constrained else SYSTEM
    return [Message("system", system), Message("user", f"Facts:\n{ev.facts()}\n\n{task}")]


def retry_messages(
    first: list[Message], text: str | None, problems: list[str], constrained: bool = False
) -> list[Message]:
    """The first chat plus the rejected answer and why it was rejected."""
    listed = "\n".join(f"- {p}" for p in problems)
    form = "." if constrained else ', as JSON {"text": "..."}.'
    again = f"That answer was rejected:\n{listed}\nWrite it again using only the facts{form}"
    return first + [Message("assistant", text or "(no usable answer)"), Message("user", again)]


def narrate(
    ev: Evidence,
    backend: Backend,
    checker: Checker,
    mode: Mode = "polish",
    temperature: float = 0.7,
    max_tokens: int | None = None,
    constrain: bool | None = None,
) -> Narration:
    """Checked narration of one evidence; never raises for backend trouble. constrain: send
    the backend the slot-filling grammar of core.narrate.constrained; None (default): for the
    in-process llama.cpp backend (the one that takes a grammar and needs it)."""
    if constrain is None:
        constrain = backend.name == "llamacpp"
    template_report = checker.check(ev.template, ev)
    if backend.name == "template":
        return _template(ev, backend, mode, "template", (), (), 0.0, template_report)
    limit = max_tokens or (240 if mode == "narrate" else 140)
    start = time.perf_counter()
    chat = messages_for(ev, mode, constrained=constrain)
    rules = grammar(ev) if constrain else None
    attempts: list[Attempt] = []
    for temp in (temperature, 0.0):
        attempt = _attempt(backend, checker, ev, chat, temp, limit, rules)
        attempts.append(attempt)
        if attempt.report is not None and attempt.report.grounded:
            return Narration(
                attempt.text or "",
                "llm",
                "grounded",
                (),
                ev.template,
                backend.name,
                backend.model,
                mode,
                False,
                tuple(attempts),
                time.perf_counter() - start,
                attempt.report,
            )
        if attempt.error and attempt.error.split(":")[0] in _NO_RETRY:
            break
        if attempt.report is not None:
            problems = [v.message for v in attempt.report.violations]
            chat = retry_messages(messages_for(ev, mode, constrained=constrain), attempt.text,
                                  problems, constrain)  # fmt: skip
        else:  # no usable text (cut or broken): ask again, shorter, without an error to echo
            chat = messages_for(ev, mode, short=True, constrained=constrain)
    last = attempts[-1]
    violations = last.report.violations if last.report else ()
    return _template(
        ev,
        backend,
        mode,
        "failed",
        violations,
        tuple(attempts),
        time.perf_counter() - start,
        template_report,
    )


def _attempt(backend, checker, ev, chat, temp: float, limit: int, rules=None) -> Attempt:
    t0 = time.perf_counter()
    kw = {"grammar": rules} if rules else {}
    try:
        done = backend.complete(chat, temperature=temp, max_tokens=limit, **kw)
    except BackendError as err:
        return Attempt(temp, None, str(err), None, time.perf_counter() - t0)
    return Attempt(temp, done.text, None, checker.check(done.text, ev), time.perf_counter() - t0)


def _template(ev, backend, mode, verdict, violations, attempts, latency, report) -> Narration:
    return Narration(
        ev.template,
        "template",
        verdict,
        tuple(violations),
        ev.template,
        backend.name,
        backend.model,
        mode,
        bool(attempts),
        attempts,
        latency,
        report,
    )


@dataclass(frozen=True)
class NarrationMetrics:
    n: int
    before: GroundingMetrics  # the first generated answer of each narration (unchecked)
    after: GroundingMetrics  # what was shown
    fallback_rate: float  # narrations where a model was asked and the template is shown
    retry_rate: float
    error_rate: float  # narrations whose every attempt erred (no text to check)
    latency_p50_s: float
    latency_p95_s: float


def metrics(narrations: list[Narration]) -> NarrationMetrics:
    firsts = [a.report for n in narrations for a in n.attempts[:1] if a.report is not None]
    shown = [n.report for n in narrations if n.report is not None]
    lat = sorted(n.latency_s for n in narrations)
    n = len(narrations) or 1
    return NarrationMetrics(
        n=len(narrations),
        before=summarise(firsts),
        after=summarise(shown),
        fallback_rate=sum(x.fell_back for x in narrations) / n,
        retry_rate=sum(len(x.attempts) > 1 for x in narrations) / n,
        error_rate=sum(bool(x.attempts) and all(a.error for a in x.attempts) for x in narrations)
        / n,
        latency_p50_s=_quantile(lat, 0.5),
        latency_p95_s=_quantile(lat, 0.95),
    )


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
