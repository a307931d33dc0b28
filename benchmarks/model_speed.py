"""Training and evaluation speed of RecLens at RecBole 1.2.1's settings, with a profile.

    .venv/bin/python benchmarks/model_speed.py --dataset amazon-book --models bprmf lightgcn
    .venv/bin/python benchmarks/model_speed.py --dataset ml-100k-recbole-kg --models kgat-recbole
    .venv/bin/python benchmarks/model_speed.py --dataset sample --models lightgcn --profile

Settings are RecBole's: 64-dim embeddings, batch 2048, LightGCN with 2 layers, KGAT with one
propagation layer of 64 (`RECBOLE_DEFAULT`); the split is the accuracy benchmark's (KGAT's given
split on amazon-book, random 80/10/10 elsewhere). An epoch is the CF pass plus any KG phase and
attention refresh; "eval" is one full-ranking test evaluation (Recall, NDCG, Precision, HitRate,
MRR at 10 and 20, as RecBole's evaluation computes), "eval+" adds the beyond-accuracy metrics.
Wall time depends on what else runs on the machine; CPU time (all threads) much less so.
`--profile` prints where one epoch's time goes, by torch operator (torch.profiler).
This script times RecLens alone. Speed against RecBole is stated only as ratios measured side
by side on one machine, in one run: benchmarks/vs_recbole.py (no figures typed in from
another day's machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import DATASET_TRAIN, DATASETS  # noqa: E402  (one protocol for all)
from benchmarks.explain_common import write_section  # noqa: E402

# benchmark name -> (registry name, config overrides)
VARIANTS = {
    "bprmf": ("bprmf", {}),
    "bprmf-lazy": ("bprmf", {"sparse_grad": True}),
    "lightgcn": ("lightgcn", {"n_layers": 2}),  # RecBole's default
    "lightgcn-3": ("lightgcn", {"n_layers": 3}),  # the paper's and our accuracy default
    "kgat-recbole": ("kgat", None),  # filled below: RecBole's KGAT defaults
    "kgat": ("kgat", "paper"),  # the paper's 3 layers (64, 32, 16): core.models.kgat.PAPER
}


def variant(name: str) -> tuple[str, dict]:
    from core.models.kgat_config import PAPER, RECBOLE_DEFAULT

    model_name, overrides = VARIANTS[name]
    if overrides is None:
        overrides = dataclasses.asdict(RECBOLE_DEFAULT)
    elif overrides == "paper":
        overrides = dataclasses.asdict(PAPER)
    return model_name, overrides


def time_model(name: str, dataset: str, inputs, split, args) -> dict:
    from core.eval.runner import evaluate
    from core.models.registry import build_model
    from core.train.trainer import TrainConfig, _Loop

    model_name, overrides = variant(name)
    torch.manual_seed(2020)
    model = build_model(model_name, inputs, overrides, "cpu")
    config = TrainConfig(
        epochs=args.epochs,
        seed=2020,
        batch_size=args.batch_size,
        **DATASET_TRAIN.get(dataset, {}),
    )
    gen = torch.Generator().manual_seed(0)
    loop = _Loop(model, inputs, split, config, torch.device("cpu"), gen)
    seconds, cpu = [], []
    for epoch in range(1, args.epochs + 1):
        c0 = time.process_time()
        seconds.append(loop.run_epoch(epoch, ())["seconds"])
        cpu.append(time.process_time() - c0)
    if args.profile:
        profile_epoch(loop, args.epochs + 1)
    evals = {}
    for label, beyond in (("eval", False), ("eval+", True)):
        times = []
        for _ in range(args.eval_repeats):
            res = evaluate(
                model, split.train, split.test, valid=split.valid, beyond_accuracy=beyond
            )
            times.append(res.seconds)
        evals[label] = min(times)
    return {
        "model": name,
        "epoch_s": min(seconds),
        "epoch_cpu_s": min(cpu),
        "batches": loop.n_batches,
        "recall@20": res.metrics["recall@20"],
        **evals,
    }


class _FirstBatches:
    """The first `n` batches of a trainer batch source (profiling a whole amazon-book epoch
    holds millions of profiler events in memory: it was killed at 24 GB)."""

    def __init__(self, source, n: int) -> None:
        self.source, self.n = source, n

    def epoch(self, gen):
        return itertools.islice(self.source.epoch(gen), self.n)


def profile_epoch(loop, epoch: int, max_batches: int = 40) -> None:
    """One more (shortened) epoch under torch.profiler, including the model's end-of-epoch
    work (KGAT's KG phase); prints the operators that took the most time."""
    from torch.profiler import ProfilerActivity, profile

    loop.batches = _FirstBatches(loop.batches, max_batches)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        loop.run_epoch(epoch, ())
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14)
    print(f"\nWhere one epoch's time goes ({type(loop.model).__name__}):\n{table}", flush=True)


def markdown(dataset: str, threads: int, rows: list[dict]) -> str:
    head = (
        "| model | batches | s/epoch | CPU s/epoch | eval s | eval+ s | Recall@20 after run |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['batches']} | {r['epoch_s']:.2f} | {r['epoch_cpu_s']:.2f} | "
            f"{r['eval']:.2f} | {r['eval+']:.2f} | {r['recall@20']:.4f} |"
        )
    return f"{dataset}, {threads} threads:\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sample", choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=["lightgcn", "kgat-recbole"])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs; the best counts")
    parser.add_argument("--eval-repeats", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile one more epoch")
    parser.add_argument("--write", action="store_true", help="merge into benchmarks/RESULTS.md")
    args = parser.parse_args()
    for name in args.models:
        if name not in VARIANTS:
            parser.error(f"unknown model {name!r}; choose from {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)

    from core.data import load_dataset, split_dataset
    from core.models.base import ModelInputs

    path, method = DATASETS[args.dataset]
    ds = load_dataset(path)
    ratios = (0.95, 0.05, 0.0) if method == "given" else (0.8, 0.1, 0.1)
    split = split_dataset(ds, method, ratios, 2020)
    inputs = ModelInputs.from_dataset(ds, split)
    print(
        f"{ds.name}: {inputs.n_users} users, {inputs.n_items} items, {len(inputs.train)} train,"
        f" {len(inputs.kg)} triples; {args.threads} threads; best of {args.epochs} epochs",
        flush=True,
    )
    rows = []
    for name in args.models:
        rows.append(time_model(name, args.dataset, inputs, split, args))
        print(rows[-1], flush=True)
    table = markdown(args.dataset, args.threads, rows)
    print("\n" + table)
    if args.write:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        cmd = "python benchmarks/model_speed.py " + " ".join(sys.argv[1:])
        write_section(f"speed-{args.dataset}", f"{table}\n\n{stamp}: `{cmd}`")


if __name__ == "__main__":
    main()
