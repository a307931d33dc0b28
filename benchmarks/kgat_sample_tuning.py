"""How wide the dashboard's first KGAT should be: sample validation figures per setting.

    python benchmarks/kgat_sample_tuning.py                      # the session-5 table (~12 min)
    python benchmarks/kgat_sample_tuning.py --only "width 128"   # one row
    python benchmarks/kgat_sample_tuning.py --extra '{"name": "L2 1e-4", "set": {"reg": 1e-4}}'

Each row trains on the sample's random split from the first-launch preset
(core/store/workspace.py FIRST_LAUNCH) with the row's model settings on top, early stopping on
validation NDCG@20, and never scores test (`evaluate_test=False`). Besides validation NDCG@20
and Recall@20 it prints the driver-linked share of every user's top-10
(`fidelity.planted_ceiling`: the share a KG path through a planted driver reaches at all),
which bounds the planted-driver recovery of any path explanation; it is computed from the
training histories and ground_truth.csv, not from the test pairs. One torch thread; CPU s is
the process's CPU time for the row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDE = {"relation_dim": 64}
ROWS = [  # (name, model, settings over the first-launch preset)
    ("width 64 (preset before session 5)", "kgat", {}),
    ("width 64, 3 layers", "kgat", {"layer_dims": [64, 64, 64]}),
    ("width 128", "kgat", {"dim": 128, "relation_dim": 128, "layer_dims": [128, 128]}),
    ("width 128, relations 64", "kgat", {"dim": 128, "layer_dims": [128, 128], **WIDE}),
    ("width 192", "kgat", {"dim": 192, "relation_dim": 192, "layer_dims": [192, 192]}),
    ("width 224, relations 64 (preset)", "kgat", {"dim": 224, "layer_dims": [224, 224], **WIDE}),
    ("width 256, relations 64", "kgat", {"dim": 256, "layer_dims": [256, 256], **WIDE}),
    ("LightGCN preset (width 64)", "lightgcn", {}),
    ("LightGCN width 128", "lightgcn", {"dim": 128}),
    ("LightGCN width 256", "lightgcn", {"dim": 256}),
]


def run_row(name: str, model: str, settings: dict) -> dict:
    import numpy as np  # noqa: F401  (torch and the data layer load it anyway)
    import torch

    from core.data import load_dataset
    from core.explain import fidelity
    from core.explain.context import ExplainContext
    from core.store.training import train_model
    from core.store.workspace import FIRST_LAUNCH
    from core.train.trainer import TrainConfig

    torch.set_num_threads(1)
    ds = load_dataset("sample")
    drivers = fidelity.load_ground_truth(ROOT / "sample_data" / "ground_truth.csv", ds)
    preset = FIRST_LAUNCH[model]
    start = time.process_time()
    trained = train_model(
        ds,
        model,
        overrides={**preset["model"], **settings},
        # the first launch's rule (raw patience 10), which the bundled KGAT was trained with
        train_config=TrainConfig(**{"patience": 10, "smooth_window": 1, **preset["train"]}),
        evaluate_test=False,
    )
    cpu = time.process_time() - start
    ctx = ExplainContext.from_dataset(ds, trained.split, trained.model)
    users = [u for u in range(ds.n_users) if u in drivers and len(ctx.history(u))]
    valid = trained.metrics["valid"]
    return {
        "name": name,
        "valid NDCG@20": valid["ndcg@20"],
        "valid Recall@20": valid["recall@20"],
        "driver-linked top-10": fidelity.planted_ceiling(ctx, drivers, users, 10),
        "best epoch": trained.meta.get("best_epoch"),
        "CPU s": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="*", default=None, help="row names to run (default: all)")
    p.add_argument("--extra", action="append", default=[], help="another row as JSON")
    args = p.parse_args(argv)
    rows = [r for r in ROWS if args.only is None or r[0] in args.only]
    rows += [
        (e["name"], e.get("model", "kgat"), e.get("set", {})) for e in map(json.loads, args.extra)
    ]
    if not rows:
        raise SystemExit(f"no such row; rows: {[r[0] for r in ROWS]}")
    print(
        "| setting | valid NDCG@20 | valid Recall@20 | driver-linked top-10 | best epoch | CPU s |"
    )
    print("|---|---|---|---|---|---|")
    for name, model, settings in rows:
        r = run_row(name, model, settings)
        print(
            f"| {r['name']} | {r['valid NDCG@20']:.4f} | {r['valid Recall@20']:.4f} | "
            f"{r['driver-linked top-10']:.3f} | {r['best epoch']} | {r['CPU s']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
