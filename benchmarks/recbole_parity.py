"""Parity of imported RecBole checkpoints with RecBole itself: one table row per checkpoint.

    .venv-peer/bin/python benchmarks/recbole_checkpoint.py --model KGAT --data DATA --out OUT/kgat
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/recbole_parity.py OUT/kgat ... --dataset DATA

Each OUT folder holds MODEL.pth and recbole.json (RecBole's own test Recall@20 / NDCG@20 of that
checkpoint and its `predict` scores of 200 random pairs, written by recbole_checkpoint.py). The
checkpoint is imported (`core.store.recbole_import`) and RecLens's figures on RecBole's split are
printed beside RecBole's, with the largest difference over the 200 pair scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import load_dataset  # noqa: E402
from core.store.artifacts import load_artifact  # noqa: E402
from core.store.recbole_import import import_recbole  # noqa: E402

HEADER = (
    "| model | RecBole epochs (best) | Recall@20 RecBole / RecLens | NDCG@20 RecBole / RecLens "
    "| valid MRR@10 diff | max pair diff (200) | import s |"
)


def row(folder: Path, ds, data: str) -> str:
    ref = json.loads((folder / "recbole.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = import_recbole(ref["checkpoint"], ds, data, Path(out) / "art")
        seconds = time.perf_counter() - t0
        model = load_artifact(result.folder, ds).model
    pairs = ref["pairs"]
    users = torch.tensor([ds.user_ids.to_internal(p["user"]) for p in pairs])
    items = torch.tensor([ds.item_ids.to_internal(p["item"]) for p in pairs])
    diff = (model.score_pairs(users, items) - torch.tensor([p["score"] for p in pairs])).abs()
    m = result.origin.measured
    epochs = f"{ref.get('epochs', '?')} ({ref.get('best_epoch', '?')})"
    valid = m.get("valid difference", float("nan"))
    return (
        f"| {ref['model']} | {epochs} | {ref['recall@20']:.6f} / {m['recall@20']:.6f} "
        f"| {ref['ndcg@20']:.6f} / {m['ndcg@20']:.6f} | {valid:.1e} "
        f"| {diff.max().item():.1e} | {seconds:.1f} |"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="folders written by recbole_checkpoint.py")
    p.add_argument("--dataset", required=True, help="the atomic files they were trained on")
    args = p.parse_args()
    ds = load_dataset(args.dataset, "recbole")
    print(HEADER)
    print("|---|---|---|---|---:|---:|---:|")
    for folder in args.folders:
        print(row(Path(folder), ds, args.dataset), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
