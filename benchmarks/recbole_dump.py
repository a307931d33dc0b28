"""RecBole's side of benchmarks/imports.py: train one model in RecBole 1.2.1 and dump what an
analyst would export from it. Run by .venv-peer's Python (`make peer`); imports no RecLens code.

    .venv-peer/bin/python benchmarks/recbole_dump.py --data DIR --dataset ml100k \
        --model LightGCN --out benchmarks/out/imports/ml100k-lightgcn

Trains at RecBole's defaults on the pre-split files (`benchmark_filename`, as
benchmarks/recbole_side.py does), keeps the epoch RecBole's own early stopping picks, then writes
into --out, with RecBole's raw tokens as ids:
- users.npy + users.txt (one token a line) and items.csv (`item,v0..v{d-1}`): the final user and
  item vectors the model scores with (LightGCN / BPR: score = dot product), so both table
  formats are exercised;
- lists.csv (`user,item,rank,score`): every user's top --k items by RecBole's own
  `full_sort_predict`, training items masked, as a black box would dump them;
- recbole.json: RecBole's test Recall@20 / NDCG@20 of those weights, epochs, settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recbole_side import KG_MODELS, _config, _dgl_compat, _scipy_compat  # noqa: E402


def _train(args: argparse.Namespace):
    import torch
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    torch.set_num_threads(args.threads)
    _scipy_compat()
    if args.model in KG_MODELS:
        _dgl_compat()
    extra = {"benchmark_filename": ["train", "valid", "test"]}
    if args.epochs is not None:
        extra["epochs"] = args.epochs
    config, work = _config(args.model, args.dataset, Path(args.data), extra)
    os.chdir(work)  # RecBole writes log/ into the working directory
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    t0 = time.perf_counter()
    trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    seconds = time.perf_counter() - t0
    checkpoint = torch.load(trainer.saved_model_file)  # RecBole's own file, written just now
    trainer.model.load_state_dict(checkpoint["state_dict"])
    trainer.model.load_other_parameter(checkpoint.get("other_parameter"))
    test = trainer.evaluate(test_data, load_best_model=False)
    return config, dataset, train_data, trainer.model.eval(), test, seconds, trainer


def _vectors(model):
    """(user vectors, item vectors) the model scores with, row 0 being RecBole's padding id."""
    import torch

    with torch.no_grad():
        if hasattr(model, "forward") and model.__class__.__name__ == "LightGCN":
            return [t.numpy() for t in model.forward()]
        return model.user_embedding.weight.numpy(), model.item_embedding.weight.numpy()


def _lists(model, dataset, train_data, k: int):
    """Every user's top k by full_sort_predict, with the training items masked."""
    import torch

    history = train_data._dataset.inter_feat
    seen = torch.zeros(dataset.user_num, dataset.item_num, dtype=torch.bool)
    seen[history["user_id"], history["item_id"]] = True
    seen[:, 0] = True  # padding item
    rows = []
    users = torch.arange(1, dataset.user_num)
    with torch.no_grad():
        for lo in range(0, len(users), 256):
            batch = users[lo : lo + 256]
            scores = model.full_sort_predict({"user_id": batch}).view(len(batch), -1)
            scores[seen[batch]] = -float("inf")
            top = torch.topk(scores, k, dim=1)
            for b, u in enumerate(batch.tolist()):
                for r, (s, i) in enumerate(zip(top.values[b], top.indices[b], strict=True)):
                    rows.append((u, int(i), r + 1, float(s)))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder holding DATASET/DATASET.train.inter")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="LightGCN", choices=("BPR", "LightGCN"))
    p.add_argument("--out", required=True)
    p.add_argument("--k", type=int, default=50, help="list length per user (default 50)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=None, help="RecBole's default: 300")
    args = p.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    out = Path(args.out).resolve()
    config, dataset, train_data, model, test, seconds, trainer = _train(args)
    out.mkdir(parents=True, exist_ok=True)
    users_v, items_v = _vectors(model)
    user_tokens = dataset.id2token("user_id", np.arange(1, dataset.user_num))
    item_tokens = dataset.id2token("item_id", np.arange(1, dataset.item_num))
    np.save(out / "users.npy", users_v[1:].astype(np.float32))
    (out / "users.txt").write_text("\n".join(map(str, user_tokens)) + "\n", encoding="utf-8")
    header = "item," + ",".join(f"v{j}" for j in range(items_v.shape[1]))
    body = [
        f"{tok}," + ",".join(repr(float(x)) for x in row)
        for tok, row in zip(item_tokens, items_v[1:], strict=True)
    ]
    (out / "items.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    lines = ["user,item,rank,score"]
    for u, i, r, s in _lists(model, dataset, train_data, args.k):
        lines.append(f"{dataset.id2token('user_id', u)},{dataset.id2token('item_id', i)},{r},{s!r}")
    (out / "lists.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    info = {
        "library": "RecBole",
        "model": args.model,
        "dataset": args.dataset,
        "recall@20": float(test["recall@20"]),
        "ndcg@20": float(test["ndcg@20"]),
        "train_s": seconds,
        "best_valid": float(trainer.best_valid_score),
        "seed": config["seed"],
        "k": args.k,
    }
    (out / "recbole.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
