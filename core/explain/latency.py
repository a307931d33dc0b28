"""Explanation latency: milliseconds per explained recommendation, per method and for the
whole card (core.explain.card), over sampled users' top-k. Used by `python -m core bench
latency` and benchmarks/explain_latency.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core.explain.card import card_parts
from core.explain.cold import folded_context
from core.explain.context import ExplainContext
from core.explain.registry import EXPLAINERS


def measure(
    ctx: ExplainContext,
    users: list[int],
    k: int,
    methods: list[str],
    card: bool = True,
    progress: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, np.ndarray]:
    """Milliseconds per explanation, float [len(users) * k] per method, and for "card" and
    each of its parts ("card: explanation", "card: deletion", "card: counterfactual": what the
    dashboard waits for, the counterfactual reusing the explanation's attribution).

    Each user is scored and ranked once and that time is shared equally by its k items, as
    `api.explain_top_k` serves a top-k; "card" times `card_parts` (explanation, deletion
    curve and counterfactual, the dashboard's settings) end to end. progress() is called
    after each user.
    clock: seconds now (default wall clock; `time.process_time` gives CPU milliseconds, which
    on a shared machine say more than wall time when torch runs one thread)."""
    out: dict[str, list[float]] = {m: [] for m in methods + (["card"] if card else [])}
    for u in users:
        t0 = clock()
        scores = ctx.scores(u)
        top = ctx.top_k(u, k, scores)
        shared = (clock() - t0) * 1000 / len(top)
        for r, item in enumerate(top):
            for m in methods:
                t0 = clock()
                EXPLAINERS[m](ctx, u, int(item), score=float(scores[item]), rank=r + 1, k=k)
                out[m].append((clock() - t0) * 1000 + shared)
            if card:  # the card part by part, as the dashboard draws it
                t0 = start = clock()
                for part in card_parts(ctx, u, int(item), k):
                    now = clock()
                    out.setdefault(f"card: {part.name}", []).append((now - t0) * 1000)
                    t0 = now
                out["card"].append((t0 - start) * 1000)
        if progress is not None:
            progress()
    return {m: np.array(v) for m, v in out.items()}


def summary(times: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{method: {"n", "p50", "p95", "max"}} in milliseconds."""
    return {
        m: {
            "n": int(len(t)),
            "p50": float(np.percentile(t, 50)),
            "p95": float(np.percentile(t, 95)),
            "max": float(t.max()),
        }
        for m, t in times.items()
        if len(t)
    }


def measure_cold(
    ctx: ExplainContext,
    users: list[int],
    k: int,
    profile_size: int = 5,
    progress: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, np.ndarray]:
    """Milliseconds of a new user end to end, per profile: "fold-in" (core.explain.cold),
    "top-k", "card" (the whole card of the new user's first item) and "cold total". Each
    profile is the first `profile_size` training items of one of `users` (the user's own row
    is never read: the profile is folded in as a new user)."""
    out: dict[str, list[float]] = {"fold-in": [], "top-k": [], "card": [], "cold total": []}
    for u in users:
        profile = ctx.history(u)[:profile_size]
        start = clock()
        folded = folded_context(ctx, profile)
        t1 = clock()
        top = folded.ctx.top_k(folded.user, k)
        t2 = clock()
        for _ in card_parts(folded.ctx, folded.user, int(top[0]), k):
            pass
        t3 = clock()
        for name, ms in zip(out, (t1 - start, t2 - t1, t3 - t2, t3 - start), strict=True):
            out[name].append(ms * 1000)
        if progress is not None:
            progress()
    return {m: np.array(v) for m, v in out.items()}
