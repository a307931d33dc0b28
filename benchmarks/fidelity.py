"""Explanation fidelity benchmark: deletion test, counterfactual validity, planted-driver
recovery and path quality per (dataset, model, explainer), printed as markdown tables.

    python benchmarks/fidelity.py --datasets sample ml-100k-recbole-kg --models kgat attention
    python benchmarks/fidelity.py --datasets sample --write     # also updates RESULTS.md

Artifacts come from --artifacts (default benchmarks/out/artifacts/{dataset}-{model}) and are
trained there with the accuracy benchmark's settings when missing. See core/explain/fidelity.py
for the definitions of every column.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from explain_common import add_common_args, get_context, write_section


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p, users=20)
    p.add_argument("--methods", default=None, help="comma-separated (default: all supported)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument(
        "--aggregations", default="product", help="path aggregations, e.g. product,mean,min"
    )
    p.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    p.add_argument("--json", type=Path, default=None, help="also dump raw results here")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    from core.explain import fidelity

    cfg = fidelity.FidelityConfig(n_users=args.users, k=args.k, seed=args.seed)
    raw = {}
    for dataset in args.datasets:
        sections = []
        for model in args.models:
            ds, folder, ctx, _ = get_context(dataset, model, args.artifacts, args.epochs)
            gt = Path(folder) / "ground_truth.csv"
            drivers = fidelity.load_ground_truth(gt, ds) if gt.is_file() else None
            t0 = time.perf_counter()
            methods = args.methods.split(",") if args.methods else None
            res = fidelity.run(ctx, cfg, drivers, methods)
            for how in args.aggregations.split(",")[1:]:  # extra path aggregations
                res.update(_paths_variant(ctx, cfg, drivers, how))
            secs = time.perf_counter() - t0
            title = f"#### {dataset} / {model} ({args.users} users x top-{args.k}, {secs:.0f} s)"
            sections.append(title + "\n\n" + fidelity.table(res, cfg.ms))
            raw[f"{dataset}/{model}"] = res
            print(sections[-1] + "\n", flush=True)
        if args.write:
            cmd = (f"python benchmarks/fidelity.py --datasets {dataset} "
                   f"--models {' '.join(args.models)} --users {args.users} "
                   + (f"--methods {args.methods} " if args.methods else "")
                   + f"--aggregations {args.aggregations}")  # fmt: skip
            body = "\n\n".join(sections)
            write_section(f"fidelity-{dataset}", f"### Fidelity on {dataset}\n\n`{cmd}`\n\n{body}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=float))
    return 0


def _paths_variant(ctx, cfg, drivers, how: str) -> dict:
    """The paths explainer with another aggregation, reported as its own row."""
    from core.explain import api, fidelity

    if "paths" not in fidelity.supported_methods(ctx):
        return {}
    users = fidelity.sample_users(ctx, cfg.n_users, cfg.seed)
    expls = [e for u in users for e in api.explain_top_k(ctx, u, cfg.k, "paths", aggregation=how)]
    res = {"explanations": len(expls), "paths": fidelity.path_quality(expls)}
    if "counterfactual" in fidelity.supported_methods(ctx):
        res["deletion"] = fidelity.deletion_test(ctx, expls, cfg)
    if drivers:
        res["planted"] = fidelity.planted_recovery(expls, drivers, cfg.seed, ctx=ctx)
    return {f"paths ({how})": res}


if __name__ == "__main__":
    raise SystemExit(main())
