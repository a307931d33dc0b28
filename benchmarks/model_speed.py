"""Seconds per training epoch (CF phase plus any KG phase) and per full-ranking score pass.

    .venv/bin/python benchmarks/model_speed.py --dataset ../shared/datasets/ml-100k-recbole-kg \
        --models kgat-recbole kgat lightgcn --epochs 2 [--profile]

Split: per-user random 80/10/10, seed 2020 (the issue's protocol). Wall time depends on what else
runs on the machine; CPU time (all threads) does much less. Prints a markdown table; with
--profile, the top functions by cumulative time of one epoch of the first model.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import load_dataset, split_dataset
from core.models.base import ModelInputs
from core.models.kgat import RECBOLE_DEFAULT
from core.models.registry import build_model
from core.train.trainer import TrainConfig, _Loop

# benchmark names -> (registry name, config overrides)
VARIANTS = {
    "kgat-recbole": ("kgat", dataclasses.asdict(RECBOLE_DEFAULT)),
}


def time_model(name: str, inputs: ModelInputs, split, epochs: int, profile: bool) -> dict:
    model_name, overrides = VARIANTS.get(name, (name, {}))
    torch.manual_seed(2020)
    model = build_model(model_name, inputs, overrides, "cpu")
    config = TrainConfig(epochs=epochs, seed=2020)
    loop = _Loop(
        model, inputs, split, config, torch.device("cpu"), torch.Generator().manual_seed(0)
    )
    seconds, cpu = [], []
    for epoch in range(1, epochs + 1):
        if profile and epoch == epochs:
            prof = cProfile.Profile()
            prof.enable()
        c0 = time.process_time()
        seconds.append(loop.run_epoch(epoch, ())["seconds"])
        cpu.append(time.process_time() - c0)
    if profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    model.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        model.prepare_inference()
        for start in range(0, inputs.n_users, 1024):
            model.score(torch.arange(start, min(start + 1024, inputs.n_users)))
    return {
        "model": name,
        "epoch_s": min(seconds),
        "epoch_cpu_s": min(cpu),
        "score_all_s": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--models", nargs="+", default=["lightgcn", "kgat-recbole"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    split = split_dataset(ds, "random", (0.8, 0.1, 0.1), 2020)
    inputs = ModelInputs.from_dataset(ds, split)
    print(
        f"{ds.name}: {inputs.n_users} users, {inputs.n_items} items, {len(inputs.train)} train,"
        f" {len(inputs.kg)} triples; {args.threads} threads; best of {args.epochs} epochs"
    )
    print("| model | s/epoch (wall) | CPU s/epoch | full scoring s |\n|---|---:|---:|---:|")
    for name in args.models:
        r = time_model(name, inputs, split, args.epochs, args.profile and name == args.models[0])
        print(
            f"| {r['model']} | {r['epoch_s']:.2f} | {r['epoch_cpu_s']:.2f} | "
            f"{r['score_all_s']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
