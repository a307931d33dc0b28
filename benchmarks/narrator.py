"""Narrator benchmark: how often each backend's text states something false before the grounding
check, what is shown after it, coverage, fallback rate and latency.

    python benchmarks/narrator.py                       # sample; KGAT (paths), attention
    python benchmarks/narrator.py --users 8 -k 3 --write

Backends: the template (always) and the in-process llama.cpp model when `make llm` installed it
(SmolLM2-135M-Instruct); an OpenAI-compatible endpoint too when RECLENS_LLM_BASE_URL is set.
Users are drawn with a seeded generator; each user's top-k explanations are narrated once per
backend and mode. "before" = the first answer of each narration, unchecked (for the template:
the template itself); "after" = the text shown. Rates count false statements (core.explain.
grounding.HALLUCINATIONS), not omissions.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.explain_common import DEFAULT_ARTIFACTS, get_context, write_section  # noqa: E402

METHOD = {"kgat": "paths", "attention": "attention"}


def available_backends() -> list:
    from core.narrate import llamacpp
    from core.narrate.config import LLMSettings, make_backend
    from core.narrate.template import TemplateBackend

    out = [TemplateBackend()]
    if llamacpp.available():
        out.append(llamacpp.LlamaCppBackend(threads=1))
    if os.environ.get("RECLENS_LLM_BASE_URL"):
        out.append(make_backend(LLMSettings.from_env()))
    return out


def run_row(
    ctx, method: str, backend, mode: str, users: list[int], k: int, constrain: bool = False
) -> dict:
    from core.explain import api
    from core.explain.evidence import build_evidence
    from core.explain.grounding import Checker, summarise
    from core.narrate.narrator import metrics, narrate

    checker = Checker.from_context(ctx)
    narrations = []
    for u in users:
        for expl in api.explain_top_k(ctx, u, k, method):
            ev = build_evidence(expl, checker.lexicon)
            narrations.append(narrate(ev, backend, checker, mode=mode, constrain=constrain))
    m = metrics(narrations)
    before = m.before if backend.name != "template" else summarise(n.report for n in narrations)
    named = sum(n.report is not None and n.report.grounded for n in narrations) / len(narrations)
    return {
        "n": m.n,
        "before": before,
        "after": m.after,
        "fallback": m.fallback_rate,
        "retry": m.retry_rate,
        "errors": m.error_rate,
        "p50": m.latency_p50_s,
        "p95": m.latency_p95_s,
        "shown_grounded": named,
        "first_pass": sum(
            bool(n.attempts) and n.attempts[0].report is not None and n.attempts[0].report.grounded
            for n in narrations
        )
        / len(narrations),
    }


def table(rows: list[tuple[str, str, str, str, dict]]) -> str:
    head = (
        "| model | method | backend | mode | texts | halluc. before (expl / mention) "
        "| halluc. after | coverage after | shown passes check | first pass accepted | fallback "
        "| retried | p50 s | p95 s |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for model, method, backend, mode, r in rows:
        b, a = r["before"], r["after"]
        cov = f"{a.coverage:.2f}" if a.coverage is not None else "–"
        lines.append(
            f"| {model} | {method} | {backend} | {mode} | {r['n']} "
            f"| {b.explanation_hallucination:.2f} / {b.mention_hallucination:.3f} "
            f"| {a.explanation_hallucination:.2f} | {cov} | {r['shown_grounded']:.2f} "
            f"| {r['first_pass']:.2f} | {r['fallback']:.2f} | {r['retry']:.2f} "
            f"| {r['p50']:.2f} | {r['p95']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    import numpy as np
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["kgat", "attention"], choices=list(METHOD))
    p.add_argument("--modes", nargs="+", default=["polish", "narrate"])
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--llm-users", type=int, default=4, help="users narrated by model backends")
    p.add_argument("-k", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10, help="when an artifact must be trained")
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    p.add_argument(
        "--constrain", nargs="+", default=["off", "on"], choices=["off", "on"],
        help="llama.cpp with and/or without the slot-filling grammar (core.narrate.constrained)",
    )  # fmt: skip
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    backends = available_backends()
    rows = []
    for model in args.models:
        ds, _, ctx, secs = get_context("sample", model, args.artifacts, args.epochs)
        print(f"{model}: artifact ready in {secs:.1f} s", file=sys.stderr)
        gen = np.random.default_rng(args.seed)
        users = sorted(gen.choice(ds.n_users, size=min(args.users, ds.n_users), replace=False))
        for backend in backends:
            ways = [c == "on" for c in args.constrain] if backend.name == "llamacpp" else [False]
            for mode, constrain in itertools.product(
                args.modes if backend.name != "template" else ["polish"], ways
            ):
                t0 = time.perf_counter()
                n_users = args.users if backend.name == "template" else args.llm_users
                picked = [int(u) for u in users[:n_users]]
                r = run_row(ctx, METHOD[model], backend, mode, picked, args.k, constrain)
                label = backend.name + (f" ({backend.model})" if backend.model else "")
                label += ", grammar" if constrain else ""
                rows.append((model, METHOD[model], label, mode if backend.model else "–", r))
                print(f"  {label} {mode}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for backend in backends:
        if hasattr(backend, "close"):
            backend.close()
    out = table(rows)
    print(out)
    if args.write:
        cmd = "python benchmarks/narrator.py " + " ".join(argv or sys.argv[1:])
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        write_section("narrator", f"{out}\n\n{stamp}: `{cmd.strip()}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
