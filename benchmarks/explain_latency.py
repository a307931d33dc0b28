"""Explanation latency: p50 / p95 milliseconds per explained recommendation, per explainer,
over random users' top-10, with the per-model state precomputed once (ExplainContext).

    python benchmarks/explain_latency.py --datasets sample ml-100k-recbole-kg
    python benchmarks/explain_latency.py --datasets sample --write   # also updates RESULTS.md

Each timing is one explainer call plus a 1/k share of scoring and ranking the user's items
once, as `core.explain.api.explain_top_k` serves a top-k; the "card" row times
`core.explain.card.explain_card` (explanation, deletion curve, counterfactual) end to end.
Artifacts as in benchmarks/fidelity.py. `python -m core bench latency ARTIFACT` measures the
same for one artifact.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from explain_common import add_common_args, get_context, write_section

TARGET_MS = {
    "attention": 100,
    "paths": 100,
    "edges": 1000,
    "counterfactual": 500,
    "influence": 100,
    "popularity": 100,
    "card": 1000,
}


def measure(ctx, method: str, users: list[int], k: int) -> np.ndarray:
    """Milliseconds per explained recommendation of each user's top-k (see
    core.explain.latency.measure); method "card" times the whole card."""
    from core.explain.latency import measure as core_measure

    if method == "card":
        return core_measure(ctx, users, k, [], card=True)["card"]
    return core_measure(ctx, users, k, [method], card=False)[method]


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
            for method in [*supported_methods(ctx), "card"]:
                slow = method in ("edges", "counterfactual", "card")
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
