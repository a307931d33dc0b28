"""The cost curve (issue 16): how training, evaluation and explanation grow with the data.

    .venv/bin/python benchmarks/scale.py --users 1000 10000 100000 --models lightgcn kgat --write
    .venv/bin/python benchmarks/scale.py --compare-processes --write     # 1 vs 2 DDP processes
    .venv/bin/python benchmarks/scale.py --export --users 100000 --models kgat --slice 64 --write
    .venv/bin/python benchmarks/scale.py --population EXPORT_DIR --rows 1000000 --write

--export and --population (issue 29: export throughput, population queries over >= 1M rows)
are described in benchmarks/scale_export.py.

For each size the sample generator (`SampleConfig.scaled`, same planted structure) writes a
dataset once into --cache; then one fresh process per (size, model, mode) loads it and times
`--steps` optimiser steps (after 2 warm-up steps) of full-graph or mini-batch training (fanout
10 per layer, `core.train.minibatch`), so each row's peak RSS is its own. Seconds per epoch are
the median step time x the epoch's batches (the CF pass; KGAT's KG phase is not included), not
a timed epoch: at 100k users a full-graph epoch would take hours here. The full-graph process
also times one full-ranking test evaluation (all test users) and the explanation latency (the
model's first explanation method, top-1 of 3 users, after the context is built).

Growth exponents are least-squares slopes of log(figure) against log(interactions) over the
measured sizes; the projection to 100M interactions extrapolates the largest measured size
along that slope (an estimate, not a measurement). Sizes that --budget-min would exceed are
listed as budget-cut rows. Device-agnostic: --device cuda runs the same on DGL's CUDA build.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scale_export  # noqa: E402  (benchmarks/ is on sys.path when this script runs)

FANOUT = 10
TARGET = 1e8  # interactions the projection extrapolates to
FIGURES = ("full_epoch_s", "mb_epoch_s", "eval_s", "full_rss_mb", "mb_rss_mb", "explain_s")


# --- one measurement, in its own process --------------------------------------------------------


def worker(args: argparse.Namespace) -> dict:
    import torch

    from core.data import load_dataset, split_dataset
    from core.models.base import ModelInputs
    from core.models.registry import build_model, make_config
    from core.train.minibatch import MiniBatch
    from core.train.sampling import NegativeSampler
    from core.train.trainer import TrainConfig, make_optimizers

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    ds = load_dataset(args.data)
    cfg = TrainConfig(device=args.device, batch_size=2048)  # its cost curve: fixed batch
    split = split_dataset(ds, cfg.split_method, cfg.split_ratios, cfg.split_seed)
    inputs = ModelInputs.from_dataset(ds, split)
    load_s = time.perf_counter() - t0
    device = torch.device(args.device)
    config = make_config(args.model, None)
    torch.manual_seed(0)  # a benchmark process, not core/: model init draws from it
    model = build_model(args.model, inputs, __import__("dataclasses").asdict(config), device)
    n_layers = len(model.layers) if args.model == "kgat" else model.config.n_layers
    loss_fn = model.loss
    if args.mode == "minibatch":
        loss_fn = MiniBatch(fanouts=(FANOUT,) * n_layers)(model, inputs)
    gen = torch.Generator().manual_seed(0)
    pairs = torch.as_tensor(inputs.train, device=device)
    sampler = NegativeSampler(inputs.n_items, inputs.train, device)
    opts = make_optimizers(model, 1e-3)
    times = []
    model.train()
    for step in range(args.steps + 2):
        idx = torch.randint(0, len(pairs), (cfg.batch_size,), generator=gen).to(device)
        users, pos = pairs[idx, 0], pairs[idx, 1]
        neg = sampler.sample(users, gen)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        loss = loss_fn(users, pos, neg)
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in opts:
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - t)
    batches = math.ceil(len(pairs) / cfg.batch_size)
    step_s = statistics.median(times)
    row = {
        "users": ds.n_users,
        "items": ds.n_items,
        "interactions": len(ds.interactions),
        "triples": len(ds.kg),
        "batches": batches,
        "step_s": step_s,
        "epoch_s": step_s * batches,
        "load_s": load_s,
    }
    if args.mode == "full":
        row.update(_eval_and_explain(ds, split, model, inputs))
    row["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def _eval_and_explain(ds, split, model, inputs) -> dict:
    from core.eval.runner import evaluate_split
    from core.explain import api
    from core.explain.context import ExplainContext
    from core.explain.registry import supported_methods

    model.eval()
    model.prepare_inference()
    res = evaluate_split(model, split, "test", beyond_accuracy=False)
    t = time.perf_counter()
    ctx = ExplainContext.from_dataset(ds, split, model)
    context_s = time.perf_counter() - t
    method = supported_methods(ctx)[0]
    users = [u for u in range(0, ds.n_users, max(1, ds.n_users // 3))][:3]
    t = time.perf_counter()
    for u in users:
        api.explain_top_k(ctx, u, 1, method)
    return {
        "eval_s": res.seconds,
        "test_users": res.n_users,
        "context_s": context_s,
        "explain_s": (time.perf_counter() - t) / len(users),
        "explain_method": method,
    }


# --- the driver ---------------------------------------------------------------------------------


def ensure_data(cache: Path, n_users: int) -> tuple[Path, float]:
    from core.data.sample import SampleConfig, write_sample

    out = cache / f"users-{n_users}"
    if (out / "README.md").is_file():
        return out, 0.0
    t = time.perf_counter()
    write_sample(out, SampleConfig.scaled(n_users))
    return out, time.perf_counter() - t


def run_worker(data: Path, model: str, mode: str, args, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--data", str(data), "--model", model]
    cmd += ["--mode", mode, "--steps", str(args.steps), "--device", args.device]
    cmd += ["--threads", str(args.threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"cut": f"over the remaining budget ({timeout / 60:.0f} min)"}
    if out.returncode != 0:
        return {"cut": f"failed: {out.stderr.strip().splitlines()[-1][:120]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(args) -> list[dict]:
    cache = Path(args.cache)
    deadline = time.time() + args.budget_min * 60
    rows = []
    for n in args.users:
        for model in args.models:
            row = {"n_users": n, "model": model}
            left = deadline - time.time()
            if left < 60:
                rows.append({**row, "cut": "budget spent before this size"})
                continue
            data, gen_s = ensure_data(cache, n)
            row["generate_s"] = gen_s
            full = run_worker(data, model, "full", args, deadline - time.time())
            mb = run_worker(data, model, "minibatch", args, deadline - time.time())
            row.update({k: v for k, v in full.items() if k not in ("step_s", "epoch_s", "rss_mb")})
            row["full_epoch_s"], row["full_rss_mb"] = full.get("epoch_s"), full.get("rss_mb")
            row["mb_epoch_s"], row["mb_rss_mb"] = mb.get("epoch_s"), mb.get("rss_mb")
            row["interactions"] = full.get("interactions") or mb.get("interactions")
            row["cut"] = full.get("cut") or mb.get("cut")
            print(json.dumps(row), flush=True)
            if args.log:
                with open(args.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
            rows.append(row)
    return rows


def exponents(rows: list[dict], model: str) -> dict[str, float]:
    """Least-squares slope of log(figure) on log(interactions) per figure, over measured rows."""
    out = {}
    pts = [r for r in rows if r["model"] == model and r.get("interactions")]
    for fig in FIGURES:
        xy = [(math.log(r["interactions"]), math.log(r[fig])) for r in pts if r.get(fig)]
        if len(xy) < 2:
            continue
        mx = sum(x for x, _ in xy) / len(xy)
        my = sum(y for _, y in xy) / len(xy)
        sxx = sum((x - mx) ** 2 for x, _ in xy)
        out[fig] = sum((x - mx) * (y - my) for x, y in xy) / sxx if sxx else float("nan")
    return out


def _f(x, digits=2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def table(rows: list[dict], models: list[str]) -> str:
    head = "| model | users | items | interactions | KG triples | full-graph s/epoch | "
    head += "mini-batch s/epoch | eval s | peak RSS MB (full / mini-batch) | explain s | note |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        rss = f"{_f(r.get('full_rss_mb'), 0)} / {_f(r.get('mb_rss_mb'), 0)}"
        note = f"**budget-cut: {r['cut']}**" if r.get("cut") else ""
        lines.append(
            f"| {r['model']} | {r['n_users']} | {r.get('items', '—')} | "
            f"{r.get('interactions', '—')} | {r.get('triples', '—')} | "
            f"{_f(r.get('full_epoch_s'), 1)} | {_f(r.get('mb_epoch_s'), 1)} | "
            f"{_f(r.get('eval_s'))} | {rss} | {_f(r.get('explain_s'), 3)} | {note} |"
        )
    lines += ["", "| model | figure | growth exponent | at the largest size | at 100M inter. |"]
    lines += ["|---|---|---:|---:|---:|"]
    for model in models:
        exp = exponents(rows, model)
        done = [r for r in rows if r["model"] == model and r.get("interactions")]
        if not done:
            continue
        last = max(done, key=lambda r: r["interactions"])
        for fig, slope in exp.items():
            if last.get(fig) is None:
                continue
            proj = last[fig] * (TARGET / last["interactions"]) ** slope
            digits = 0 if proj >= 100 else 3
            cells = f"{slope:.2f} | {_f(last[fig])} | {proj:,.{digits}f}"
            lines.append(f"| {model} | {fig} | {cells} |")
    return "\n".join(lines)


# --- 1 vs 2 processes ---------------------------------------------------------------------------


def compare_processes(args) -> str:
    lines = ["| processes | mode | wall s | s/epoch (rank 0) | epochs | Recall@20 | NDCG@20 |"]
    lines.append("|---:|---|---:|---:|---:|---:|---:|")
    for mode in ("full", "minibatch"):
        for n in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n)]
                cmd += ["--master_port", str(_free_port()), "-m", "core", "train", "sample"]
                cmd += ["--model", "lightgcn", "--epochs", str(args.epochs), "--patience", "0"]
                cmd += ["--distributed", "--device", "cpu", "--no-progress", "--out", tmp + "/a"]
                if mode == "minibatch":
                    cmd += ["--fanouts", str(FANOUT)]
                env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
                t = time.perf_counter()
                subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
                wall = time.perf_counter() - t
                meta = json.loads(Path(tmp, "a", "meta.json").read_text())
                test = json.loads(Path(tmp, "a", "metrics.json").read_text())["test"]
            lines.append(
                f"| {n} | {mode} | {wall:.1f} | {meta['seconds_per_epoch']:.2f} | "
                f"{meta['epochs']} | {test['recall@20']:.4f} | {test['ndcg@20']:.4f} |"
            )
            print(lines[-1], flush=True)
    return "\n".join(lines)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def export_rows(args) -> str:
    deadline = time.time() + args.budget_min * 60
    rows = []
    for model in args.models:
        data, _ = ensure_data(Path(args.cache), args.users[-1])
        for procs in (1, 2):
            left = deadline - time.time()
            if left < 60:
                cut = {"model": model, "processes": procs, "slice": args.slice}
                rows += [{**cut, "fidelity": f, "cut": "budget spent before this row"}
                         for f in (False, True)]  # fmt: skip
                continue
            tmp = Path(args.cache) / "exports"
            rows += scale_export.run_export(data, model, args.slice, procs, tmp, left)
            print(json.dumps(rows[-2:]), flush=True)
    return scale_export.export_table(rows)


def population_rows(args) -> str:
    source = Path(args.population)
    out = Path(args.cache) / "population-synthetic"
    manifest = scale_export.synthesise(source, out, args.rows)
    runs = scale_export.run_population(out)
    return scale_export.population_table(source, manifest, runs)


def write_results(marker: str, body: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        if "## Scale (issue 16)" not in text:
            text = text.rstrip("\n") + "\n\n## Scale (issue 16)\n"
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--models", nargs="+", default=["lightgcn"])
    p.add_argument("--steps", type=int, default=10, help="timed steps per row (default 10)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget-min", type=float, default=60.0, help="stop after (default 60)")
    p.add_argument("--cache", default=str(ROOT / "workspace" / "scale"))
    p.add_argument("--compare-processes", action="store_true")
    p.add_argument("--epochs", type=int, default=20, help="--compare-processes epochs")
    p.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    p.add_argument("--log", default=None, help="also append each row (JSON) to this file")
    p.add_argument(
        "--table-from", default=None, help="render the table from rows logged by --log runs"
    )
    p.add_argument("--export", action="store_true", help="export throughput rows (issue 29)")
    p.add_argument("--slice", type=int, default=64, help="--export: users timed per row")
    p.add_argument("--population", default=None, help="population rows over this export, scaled")
    p.add_argument("--rows", type=int, default=1_000_000, help="--population: rows to reach")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("full", "minibatch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    if args.export:
        body, marker = export_rows(args), "scale-export"
    elif args.population:
        body, marker = population_rows(args), "scale-population"
    elif args.compare_processes:
        body = compare_processes(args)
        marker = "scale-processes"
    else:
        if args.table_from:
            lines = Path(args.table_from).read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
        else:
            rows = measure(args)
        body = table(rows, args.models)
        marker = "scale-curve"
    body += f"\n\n{stamp}, {args.threads} thread(s) per process: `{command}`"
    print(body)
    if args.write:
        write_results(marker, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
