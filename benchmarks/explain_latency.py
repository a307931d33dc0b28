"""Explanation latency: p50 / p95 milliseconds per explained recommendation, per explainer,
over random users' top-10, with the per-model state precomputed once (ExplainContext).

    python benchmarks/explain_latency.py --datasets sample ml-100k-recbole-kg
    python benchmarks/explain_latency.py --datasets sample --write   # also updates RESULTS.md

Each timing is one explainer call plus a 1/k share of scoring and ranking the user's items
once, as `core.explain.api.explain_top_k` serves a top-k. Artifacts as in benchmarks/fidelity.py.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from explain_common import add_common_args, get_context, write_section

TARGET_MS = {"attention": 100, "paths": 100, "edges": 1000, "counterfactual": 1000}


def measure(ctx, method: str, users: list[int], k: int) -> np.ndarray:
    """Milliseconds per explained recommendation of each user's top-k. float [len(users) * k].

    As `core.explain.api.explain_top_k` serves a top-k: the user is scored and ranked once and
    that time is shared equally by the k explanations; each explainer call is timed on its own.
    """
    from core.explain.registry import EXPLAINERS

    fn, times = EXPLAINERS[method], []
    for u in users:
        t0 = time.perf_counter()
        scores = ctx.scores(u)
        top = ctx.top_k(u, k, scores)
        shared = (time.perf_counter() - t0) * 1000 / len(top)
        for r, item in enumerate(top):
            t0 = time.perf_counter()
            fn(ctx, u, int(item), score=float(scores[item]), rank=r + 1, k=k)
            times.append((time.perf_counter() - t0) * 1000 + shared)
    return np.array(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p, users=100)
    p.add_argument(
        "--slow-users",
        type=int,
        default=None,
        help="users for edges / counterfactual (default: --users)",
    )
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    from core.explain.fidelity import sample_users
    from core.explain.registry import supported_methods

    rows = [
        "| dataset | model | method | users x k | p50 ms | p95 ms | max ms | target p95 | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset in args.datasets:
        for model in args.models:
            ds, _, ctx, _ = get_context(dataset, model, args.artifacts, args.epochs)
            for method in supported_methods(ctx):
                slow = method in ("edges", "counterfactual")
                n = (args.slow_users or args.users) if slow else args.users
                users = sample_users(ctx, n, args.seed)
                ms = measure(ctx, method, users, args.k)
                p50, p95 = np.percentile(ms, [50, 95])
                ok = "met" if p95 < TARGET_MS[method] else "missed"
                rows.append(f"| {dataset} | {model} | {method} | {len(users)} x {args.k} | "
                            f"{p50:.1f} | {p95:.1f} | {ms.max():.0f} | "
                            f"< {TARGET_MS[method]} ({ok}) | "
                            f"{os.getloadavg()[0]:.1f} |")  # fmt: skip
                print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if args.write:
        cmd = (
            f"python benchmarks/explain_latency.py --datasets {' '.join(args.datasets)} "
            f"--models {' '.join(args.models)} --users {args.users}"
            + (f" --slow-users {args.slow_users}" if args.slow_users else "")
        )
        load = os.getloadavg()[0]  # the shared machine's load changes the figures a lot
        env = f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, load {load:.1f}"
        name = "latency-" + "-".join(args.datasets)
        write_section(name, f"### Explanation latency\n\n`{cmd}` ({env})\n\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
