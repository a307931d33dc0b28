"""The RecBole half of benchmarks/vs_recbole.py; run by .venv-peer's Python (`make peer`).

    .venv-peer/bin/python benchmarks/recbole_side.py export --source DIR --dataset ml-100k \
        --model BPR --out benchmarks/out/vs_recbole/splits/ml-100k
    .venv-peer/bin/python benchmarks/recbole_side.py train --data DIR --dataset ml-100k \
        --model BPR --threads 1

`export` lets RecBole 1.2.1 build and split a dataset exactly as it does at its defaults (every
rating a positive, per-user random 80/10/10, seed 2020; a knowledge-aware model's dataset also
drops the interactions of items without a KG link) and writes the three parts as
NAME.{train,valid,test}.inter with raw tokens, plus the .kg and .link files for KG models.
`train` trains one RecBole model at its defaults on such files (RecBole's `benchmark_filename`:
the parts are used as given) and prints one JSON line: test metrics, epochs, seconds per epoch,
evaluation seconds and peak RSS. Nothing here imports RecLens beyond the pure file writer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.vs_recbole import write_split  # noqa: E402  (stdlib only at import time)

KG_MODELS = {"KGAT"}


def _config(model: str, dataset: str, data_path: Path, extra: dict):
    from recbole.config import Config

    load_col = {"inter": ["user_id", "item_id"]}
    if model in KG_MODELS:
        load_col.update(kg=["head_id", "relation_id", "tail_id"], link=["item_id", "entity_id"])
    work = Path(tempfile.mkdtemp(prefix="recbole-"))
    settings = {
        "data_path": str(data_path.resolve()),
        "load_col": load_col,
        "use_gpu": False,
        "show_progress": False,
        "checkpoint_dir": str(work / "saved"),
        "state": "WARNING",
        "topk": [10, 20],  # RecBole's default is [10]; @20 is what the tables compare
        "metric_decimal_place": 6,  # its default 4 would round the figures the tables compare
        **extra,
    }
    return Config(model=model, dataset=dataset, config_dict=settings), work


def export(args: argparse.Namespace) -> dict:
    from recbole.data import create_dataset
    from recbole.utils import init_seed

    config, _ = _config(args.model, args.dataset, Path(args.source), {})
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    parts = {}
    for name, part in zip(("train", "valid", "test"), dataset.build(), strict=True):
        users = dataset.id2token("user_id", part.inter_feat["user_id"].numpy())
        items = dataset.id2token("item_id", part.inter_feat["item_id"].numpy())
        parts[name] = (users, items)
    out = Path(args.out)
    write_split(out, args.dataset, parts)
    if args.model in KG_MODELS:
        for ext in ("kg", "link"):
            shutil.copyfile(
                Path(args.source) / args.dataset / f"{args.dataset}.{ext}",
                out / f"{args.dataset}.{ext}",
            )
    return {
        "dataset": args.dataset,
        "model": args.model,
        "seed": config["seed"],
        "split": str(config["eval_args"]["split"]),
        "sizes": {k: len(v[0]) for k, v in parts.items()},
    }


class _Timed:
    """Wraps a bound method, recording wall and CPU seconds of each call."""

    def __init__(self, fn) -> None:
        self.fn, self.wall, self.cpu = fn, [], []

    def __call__(self, *a, **kw):
        w, c = time.perf_counter(), time.process_time()
        out = self.fn(*a, **kw)
        self.wall.append(time.perf_counter() - w)
        self.cpu.append(time.process_time() - c)
        return out


def _dgl_compat() -> None:
    """RecBole 1.2.1's KGAT calls two DGL 0.x spellings that DGL 2.x renamed:
    dgl.edge_subgraph(..., preserve_nodes=True) (now relabel_nodes, opposite sense) and
    g.adjacency_matrix(transpose=False, scipy_fmt="coo") (now g.adj_external, same arguments
    and meaning: rows are sources). The DGL here is .venv's 2.1.0 (the only one built for torch
    2.2), so the old spellings are translated; nothing else changes."""
    import inspect

    import dgl

    real = dgl.edge_subgraph
    if "preserve_nodes" in inspect.signature(real).parameters:
        return
    adjacency = dgl.DGLGraph.adjacency_matrix

    def adjacency_matrix(self, *args, **kwargs):
        if "transpose" in kwargs or "scipy_fmt" in kwargs:
            return self.adj_external(*args, **kwargs)
        return adjacency(self, *args, **kwargs)

    dgl.DGLGraph.adjacency_matrix = adjacency_matrix

    def edge_subgraph(graph, edges, preserve_nodes=None, **kwargs):
        if preserve_nodes is not None:
            kwargs["relabel_nodes"] = not preserve_nodes
        return real(graph, edges, **kwargs)

    dgl.edge_subgraph = edge_subgraph


def _scipy_compat() -> None:
    """RecBole 1.2.1's LightGCN fills its adjacency with dok_matrix._update, a private method
    SciPy has since dropped; the same dict update on the matrix's own storage replaces it."""
    import scipy.sparse as sp

    if not hasattr(sp.dok_matrix, "_update"):
        sp.dok_matrix._update = lambda self, data: self._dict.update(data)


def train(args: argparse.Namespace) -> dict:
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
    if args.fixed_epochs:
        extra["eval_step"] = 0  # no validation: every epoch runs, the last model is tested
    if args.seed is not None:  # init and negative sampling; the split files stay as given
        extra["seed"] = args.seed
    config, work = _config(args.model, args.dataset, Path(args.data), extra)
    os.chdir(work)  # RecBole writes log/ and log_tensorboard/ into the working directory
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    epoch_t, valid_t = _Timed(trainer._train_epoch), _Timed(trainer._valid_epoch)
    trainer._train_epoch, trainer._valid_epoch = epoch_t, valid_t
    t0 = time.perf_counter()
    best_valid, valid_result = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    train_s = time.perf_counter() - t0
    epochs = len(epoch_t.wall)
    if args.tune:  # validation figures of the kept epoch only; test is never scored
        return {
            "library": "recbole",
            "model": args.model,
            "dataset": args.dataset,
            "seed": config["seed"],
            "valid": {k: float(valid_result[k]) for k in ("recall@20", "ndcg@20")},
            "valid_metric": config["valid_metric"],
            "epochs": epochs,
            "best_epoch": epochs - trainer.cur_step * config["eval_step"],
            "train_s": train_s,
            "cpu_s_per_epoch": sum(epoch_t.cpu) / max(1, epochs),
        }
    if not args.fixed_epochs:  # load the best weights first, so only the evaluation is timed
        checkpoint = torch.load(trainer.saved_model_file)  # RecBole's own, written just now
        trainer.model.load_state_dict(checkpoint["state_dict"])
        trainer.model.load_other_parameter(checkpoint.get("other_parameter"))
    e0, c0 = time.perf_counter(), time.process_time()
    test = trainer.evaluate(test_data, load_best_model=False)
    eval_s, eval_cpu_s = time.perf_counter() - e0, time.process_time() - c0
    best_epoch = (
        epochs - trainer.cur_step * config["eval_step"] if not args.fixed_epochs else epochs
    )
    return {
        "library": "recbole",
        "model": args.model,
        "dataset": args.dataset,
        "recall@20": float(test["recall@20"]),
        "ndcg@20": float(test["ndcg@20"]),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "converged": (not args.fixed_epochs) and epochs < config["epochs"],
        "best_valid": None if args.fixed_epochs else float(best_valid),
        "valid_metric": config["valid_metric"],
        "valid_ndcg@20": None if args.fixed_epochs else float(valid_result["ndcg@20"]),
        "s_per_epoch": sum(epoch_t.wall) / max(1, epochs),
        "cpu_s_per_epoch": sum(epoch_t.cpu) / max(1, epochs),
        "valid_s": sum(valid_t.wall) / max(1, len(valid_t.wall)),
        "eval_s": eval_s,
        "eval_cpu_s": eval_cpu_s,
        "train_s": train_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": args.threads,
        "seed": config["seed"],
        "config": {
            k: config[k]
            for k in (
                "learning_rate",
                "train_batch_size",
                "epochs",
                "stopping_step",
                "eval_step",
                "embedding_size",
                "reg_weight",
                "n_layers",
                "layers",
                "mess_dropout",
                "kg_embedding_size",
                "aggregator_type",
                "weight_decay",
            )
            if k in config
        },
        "sizes": [
            len(d.dataset) if hasattr(d, "dataset") else None
            for d in (train_data, valid_data, test_data)
        ],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--source", required=True, help="folder holding DATASET/DATASET.inter")
    ex.add_argument("--dataset", required=True)
    ex.add_argument("--model", default="BPR", help="BPR: plain dataset; KGAT: KG-linked items")
    ex.add_argument("--out", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--data", required=True, help="folder holding DATASET/DATASET.train.inter")
    tr.add_argument("--dataset", required=True)
    tr.add_argument("--model", required=True, choices=("BPR", "LightGCN", "KGAT"))
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--epochs", type=int, default=None, help="RecBole's default: 300")
    tr.add_argument("--fixed-epochs", action="store_true", help="speed rows: no validation")
    tr.add_argument("--seed", type=int, default=None, help="RecBole's default: 2020")
    tr.add_argument("--tune", action="store_true", help="validation figures only, never test")
    args = p.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    out = export(args) if args.cmd == "export" else train(args)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
