"""`python -m core explain | bench`: explain a user's recommendations of a trained artifact, and
measure explanation fidelity and latency.

Raw ids in, raw ids and names out. An unknown user or item, or a method the model cannot serve,
is a one-line error with exit status 2 (core.cli.main maps UsageError / NotSupported).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.cli.cold import folded, items_arg, user_or_items
from core.cli.common import UsageError, explain_args, internal_id, load_context, progress_bar
from core.explain import api, cold, fidelity, latency
from core.explain.fidelity import sample_users
from core.explain.records import to_raw
from core.explain.registry import supported_methods
from core.store.caption import origin_caption

METHODS = ("attention", "paths", "edges", "counterfactual", "influence", "popularity")


def register(sub) -> None:
    """Add this module's sub-commands to the argparse sub-parsers `sub`."""
    ex = sub.add_parser("explain", help="why a trained model recommends items to a user")
    ex.add_argument("artifact", help="artifact folder written by `train`")
    ex.add_argument("--user", default=None, help="raw user id, as in the data files")
    items_arg(ex)
    ex.add_argument("--item", default=None, help="raw item id (default: the user's top-k)")
    ex.add_argument("-k", type=int, default=10, help="recommendation list size (default 10)")
    ex.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="explanation method (default: the first the model supports)",
    )
    explain_args(ex)
    ex.set_defaults(handler=cmd_explain)
    bench = sub.add_parser("bench", help="explanation benchmarks of a trained artifact")
    kinds = bench.add_subparsers(dest="bench", required=True)
    fid = kinds.add_parser("fidelity", help="deletion test, counterfactuals, planted drivers")
    fid.add_argument("artifact", help="artifact folder written by `train`")
    fid.add_argument("--users", type=int, default=20, help="users sampled (default 20)")
    fid.add_argument("-k", type=int, default=10, help="top-k explained per user (default 10)")
    fid.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    fid.add_argument("--methods", default=None, help="comma-separated (default: all supported)")
    fid.add_argument(
        "--ground-truth",
        default=None,
        help="planted drivers CSV (default: ground_truth.csv next to the data)",
    )
    fid.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    explain_args(fid)
    fid.set_defaults(handler=cmd_bench_fidelity)
    lat = kinds.add_parser("latency", help="p50 / p95 ms per explanation method and whole card")
    lat.add_argument("artifact", help="artifact folder written by `train`")
    lat.add_argument("--users", type=int, default=20, help="users sampled (default 20)")
    lat.add_argument("-k", type=int, default=10, help="top-k explained per user (default 10)")
    lat.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    lat.add_argument("--methods", default=None, help="comma-separated (default: all supported)")
    lat.add_argument("--no-card", action="store_true", help="skip the whole-card timing")
    lat.add_argument(
        "--cold",
        action="store_true",
        help="time a new user instead: fold-in from a profile + top-k + one whole card",
    )
    lat.add_argument("--profile-size", type=int, default=5, help="--cold profile items (5)")
    lat.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by process CPU seconds instead of wall clock (a loaded machine inflates wall"
        " time; meaningful with one torch thread, OMP_NUM_THREADS=1)",
    )
    lat.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    explain_args(lat)
    lat.set_defaults(handler=cmd_bench_latency)


def _print_text(row: dict, per_kind: int = 3, n_paths: int = 3) -> None:
    print(f"#{row['rank']:<3} {row['item']}  {row['title']}  (score {row['score']:.4f})")
    print(f"     {row['sentence']}")
    shown: dict[str, int] = {}
    for c in row["contributions"]:  # the heaviest few of each kind (they come sorted per kind)
        shown[c["kind"]] = shown.get(c["kind"], 0) + 1
        if shown[c["kind"]] <= per_kind:
            print(f"     {c['kind']:<15} {c['weight']:>8.4f}  {c['id']}  {c['name']}")
    for p in row["paths"][:n_paths]:
        hops = " ; ".join(f"({s}, {r}, {d})" for s, r, d in p["edges"])
        print(f"     path {p['score']:.4g}: {hops}")
    cf = row["counterfactual"]
    if cf:
        print(
            f"     without {', '.join(cf['removed'])}: rank {cf['new_rank']} (valid={cf['valid']})"
        )


def cmd_explain(args: argparse.Namespace) -> int:

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    user_or_items(args)
    if args.items is None:
        ds, _, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
        user = internal_id(ds.user_ids, args.user, "user", ds)
    else:  # a new user, folded into a copy of the model: explained like any other
        ctx, fc = folded(args)
        ds, ctx, user = ctx.dataset, fc.ctx, fc.user
    method = args.method or next(iter(supported_methods(ctx)), None)
    if method is None:
        raise UsageError(f"model {ctx.model.name} supports no explanation method")
    if args.item is not None:
        expls = [
            api.explain(ctx, user, internal_id(ds.item_ids, args.item, "item", ds), method, args.k)
        ]
    else:
        expls = api.explain_top_k(ctx, user, args.k, method)
    rows = [to_raw(ds, e) for e in expls]
    caption = origin_caption(ctx.artifact.meta) if ctx.artifact is not None else ""
    if args.json:
        print(
            json.dumps(
                {
                    "user": args.user or cold.NEW_USER,
                    "model": ctx.model.name,
                    "method": method,
                    **({"origin": caption} if caption else {}),
                    "explanations": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(f"user {args.user or cold.NEW_USER}, model {ctx.model.name}, method {method}:")
    if caption:
        print(caption)
    for row in rows:
        _print_text(row)
    return 0


def cmd_bench_fidelity(args: argparse.Namespace) -> int:

    ds, folder, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
    gt = Path(args.ground_truth) if args.ground_truth else Path(folder) / "ground_truth.csv"
    drivers = fidelity.load_ground_truth(gt, ds) if gt.is_file() else None

    cfg = fidelity.FidelityConfig(n_users=args.users, k=args.k, seed=args.seed)
    methods = args.methods.split(",") if args.methods else None
    offered = [m for m in (methods or supported_methods(ctx)) if m in supported_methods(ctx)]
    with progress_bar(len(offered) * args.users, "fidelity", args.no_progress) as bar:

        def step(method: str, done: int) -> None:
            bar.set_postfix_str(method)
            bar.update(1)

        res = fidelity.run(ctx, cfg, drivers, methods, progress=step)
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": str(args.artifact),
                    "model": ctx.model.name,
                    "dataset": ds.name,
                    "results": res,
                },
                indent=2,
                default=float,
            )
        )
        return 0
    print(f"fidelity of {ctx.model.name} on {ds.name} ({args.users} users x top-{args.k}):")
    print(fidelity.table(res, cfg.ms))
    return 0


def cmd_bench_latency(args: argparse.Namespace) -> int:

    _, _, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
    offered = supported_methods(ctx)
    methods = args.methods.split(",") if args.methods else offered
    unknown = [m for m in methods if m not in offered]
    if unknown:
        raise UsageError(f"model {ctx.model.name} cannot explain by {', '.join(unknown)}")
    users = sample_users(ctx, args.users, args.seed)
    with progress_bar(len(users), "latency", args.no_progress) as bar:
        clock = time.process_time if args.cpu_time else time.perf_counter
        if args.cold:
            times = latency.measure_cold(ctx, users, args.k, args.profile_size, bar.update, clock)
        else:
            times = latency.measure(
                ctx, users, args.k, methods, not args.no_card, bar.update, clock
            )
    stats = latency.summary(times)
    if args.json:
        out = {"artifact": str(args.artifact), "model": ctx.model.name, "k": args.k,
               "users": len(users), "rescoring": ctx.rescoring,
               "clock": "cpu" if args.cpu_time else "wall", "ms": stats}  # fmt: skip
        print(json.dumps(out, indent=2))
        return 0
    clock_name = "CPU" if args.cpu_time else "wall-clock"
    what = f"new users from {args.profile_size} items" if args.cold else "users"
    print(
        f"latency of {ctx.model.name} ({len(users)} {what} x top-{args.k}; {clock_name} ms per"
        f" {'new user' if args.cold else 'explanation'}):"
    )
    print("| method | n | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for m, s in stats.items():
        print(f"| {m} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.0f} |")
    return 0
