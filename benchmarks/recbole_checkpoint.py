"""Make a RecBole 1.2.1 checkpoint and RecBole's own figures for it; run by .venv-peer's Python.

    .venv-peer/bin/python benchmarks/recbole_checkpoint.py --model LightGCN --epochs 20 \
        --data /work/shared/datasets/ml-100k-recbole-kg --out /tmp/rb/lightgcn

Trains MODEL at RecBole's defaults on the atomic files of --data (RecBole's own split: per-user
random 80/10/10, seed 2020) with validation early stopping, capped at --epochs, and writes
OUT/MODEL.pth (RecBole's Trainer checkpoint, copied as written) and OUT/recbole.json: RecBole's
test Recall@20 / NDCG@20 of that checkpoint and its `predict` scores of 200 random (user, item)
pairs, with raw tokens. The import parity test (tests/store/test_recbole_parity.py) and
benchmarks/RESULTS.md compare RecLens's imported model with these figures. Nothing here imports
RecLens.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recbole_side import KG_MODELS, _config, _dgl_compat, _scipy_compat  # noqa: E402

N_PAIRS = 200


def _staged(data: Path) -> tuple[Path, str]:
    """RecBole reads DATA_PATH/NAME/NAME.inter: link the folder's files under that shape."""
    name = sorted({p.name.split(".")[0] for p in data.glob("*.inter")})[0]
    root = Path(tempfile.mkdtemp(prefix="recbole-data-"))
    (root / name).mkdir()
    for path in data.glob(f"{name}.*"):
        os.symlink(path.resolve(), root / name / path.name)
    return root, name


def _pairs(dataset, model, rng_seed: int) -> list[dict]:
    import torch
    from recbole.data.interaction import Interaction

    gen = torch.Generator().manual_seed(rng_seed)
    users = torch.randint(1, dataset.user_num, (N_PAIRS,), generator=gen)
    items = torch.randint(1, dataset.item_num, (N_PAIRS,), generator=gen)
    with torch.no_grad():
        scores = model.predict(Interaction({"user_id": users, "item_id": items}))
    return [
        {"user": str(u), "item": str(i), "score": float(s)}
        for u, i, s in zip(
            dataset.id2token("user_id", users.numpy()),
            dataset.id2token("item_id", items.numpy()),
            scores.tolist(),
            strict=True,
        )
    ]


def make(args: argparse.Namespace) -> dict:
    import torch
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    torch.set_num_threads(args.threads)
    _scipy_compat()
    if args.model in KG_MODELS:
        _dgl_compat()
    data_path, name = _staged(Path(args.data))
    extra = {"epochs": args.epochs, "seed": args.seed}
    if args.embedding_size:
        extra["embedding_size"] = args.embedding_size
    if args.aggregator:
        extra["aggregator_type"] = args.aggregator
    config, work = _config(args.model, name, data_path, extra)
    os.chdir(work)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    runs = []
    train_epoch = trainer._train_epoch
    trainer._train_epoch = lambda *a, **kw: runs.append(1) or train_epoch(*a, **kw)
    best_valid, _ = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    test = trainer.evaluate(test_data, load_best_model=True)  # loads the written checkpoint
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{args.model}.pth"
    shutil.copyfile(trainer.saved_model_file, target)
    model.eval()
    if args.model in KG_MODELS:  # the attention of the loaded (best) weights, not the last epoch's
        with torch.no_grad():
            model.update_attentive_A()
    result = {
        "model": args.model,
        "checkpoint": str(target),
        "recall@20": float(test["recall@20"]),
        "ndcg@20": float(test["ndcg@20"]),
        "best_valid": float(best_valid),
        "valid_metric": config["valid_metric"],
        "epochs": len(runs),  # run, of at most --epochs (RecBole stops after stopping_step evals)
        "best_epoch": len(runs) - trainer.cur_step * config["eval_step"],
        "n_users": int(dataset.user_num),
        "n_items": int(dataset.item_num),
        "pairs": _pairs(dataset, model, args.seed),
    }
    (out / "recbole.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return {k: v for k, v in result.items() if k != "pairs"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a folder of RecBole atomic files")
    p.add_argument("--model", required=True, choices=("BPR", "LightGCN", "KGAT"))
    p.add_argument("--epochs", type=int, default=300, help="cap; RecBole's default is 300")
    p.add_argument("--embedding-size", type=int, default=None, help="default: RecBole's")
    p.add_argument("--aggregator", default=None, help="KGAT: bi (default), gcn or graphsage")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    print(json.dumps(make(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
