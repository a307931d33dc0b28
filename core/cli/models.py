"""`python -m core train | evaluate | recommend`: train a model into an artifact, evaluate it,
and list one user's recommendations with raw ids and titles."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from core.cli.cold import cmd_recommend_items, items_arg, user_or_items
from core.cli.common import UsageError, dataset_args
from core.data import load_dataset
from core.eval.metrics import item_attribute_matrix
from core.eval.runner import evaluate_split
from core.models.base import model_device
from core.models.registry import (
    IMPORT_ONLY,
    MODELS,
    UnknownModelError,
    make_config,
    parse_override,
    trainable_models,
)
from core.store.artifacts import artifact_lock
from core.store.opening import open_artifact
from core.store.training import train_model
from core.train import TrainConfig, distributed
from core.train.minibatch import MiniBatch, MiniBatchError


def register(sub) -> None:
    """Add this module's sub-commands to the argparse sub-parsers `sub`."""
    _register_train(sub)
    ev = sub.add_parser("evaluate", help="full-ranking test metrics of a trained artifact")
    ev.add_argument("artifact", help="artifact folder written by `train`")
    dataset_args(ev)
    ev.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.set_defaults(handler=cmd_evaluate)
    rec = sub.add_parser("recommend", help="top-k items for one user of a trained artifact")
    rec.add_argument("artifact", help="artifact folder written by `train`")
    rec.add_argument("--user", default=None, help="raw user id, as in the data files")
    items_arg(rec)
    rec.add_argument("-k", type=int, default=10, help="number of items (default 10)")
    dataset_args(rec)
    rec.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    rec.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rec.set_defaults(handler=cmd_recommend)


def _register_train(sub) -> None:
    tr = sub.add_parser("train", help="train a model and save it as an artifact folder")
    tr.add_argument("dataset", help='dataset folder, or "sample"')
    tr.add_argument("--model", required=True, help="model name, e.g. bprmf")
    tr.add_argument("--format", default=None, help="dataset format (default: detect)")
    tr.add_argument(
        "--epochs", type=int, default=None, help="maximum epochs (default 300; stops early)"
    )
    tr.add_argument("--seed", type=int, default=None, help="training seed (default 2020)")
    tr.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    tr.add_argument("--out", default=None, help="artifact folder (default: workspace/models/...)")
    tr.add_argument(
        "--lr",
        type=float,
        default=None,
        help="Adam learning rate (default: the model's recommended rate)",
    )
    tr.add_argument(
        "--batch-size", type=int, default=None, help="BPR batch size (default: the model's)"
    )
    tr.add_argument("--patience", type=int, default=None, help="early-stopping patience")
    tr.add_argument(
        "--smooth-window",
        type=int,
        default=None,
        help="patience counts records of the mean of the last N validations (default 5)",
    )
    tr.add_argument(
        "--sampling",
        choices=("pairs", "users"),
        default=None,
        help="BPR batches: every training pair once per epoch (pairs, default) or uniformly drawn"
        " users with one of their items each (users, as KGAT's reference code)",
    )
    tr.add_argument("--split", default=None, help="random, leave-one-out or given")
    tr.add_argument("--dim", type=int, default=None, help="embedding size (model setting `dim`)")
    tr.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any model setting, e.g. --set reg=1e-4 (repeatable)",
    )
    tr.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="also save the current weights every N epochs",
    )
    tr.add_argument(
        "--init",
        default=None,
        metavar="ARTIFACT",
        help="start from this artifact's weights (same model, settings, dataset and split), e.g."
        " to continue a run at a lower --lr",
    )
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    _scale_args(tr)
    tr.set_defaults(handler=cmd_train)


def _scale_args(tr: argparse.ArgumentParser) -> None:
    tr.add_argument(
        "--minibatch",
        action="store_true",
        help="lightgcn/kgat: each step propagates only the batch's sampled computation graph",
    )
    tr.add_argument(
        "--fanouts",
        default=None,
        metavar="F[,F...]",
        help="neighbours sampled per node and layer, input layer first (implies --minibatch;"
        " default: full neighbourhoods)",
    )
    tr.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over torchrun's processes (gloo on CPU, NCCL on CUDA); rank 0 saves",
    )


# --- train ------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:

    if args.model in IMPORT_ONLY:
        raise UsageError(
            f"model '{args.model}' is made by `python -m core import`, not trained; "
            f"trainable models: {', '.join(trainable_models())}"
        )
    if args.model not in MODELS:
        raise UsageError(f"unknown model '{args.model}'; known models: {', '.join(sorted(MODELS))}")
    try:
        overrides = _overrides(args)
    except UnknownModelError as err:
        raise UsageError(str(err)) from None
    cfg = _train_config(args, TrainConfig)
    strategy, rank, extra = _scale_strategy(args, cfg)
    if rank is not None:
        cfg = dataclasses.replace(cfg, device=str(rank[1]))
    main = rank is None or rank[0].is_main  # only rank 0 shows progress and saves
    ds = load_dataset(args.dataset, args.format)
    out = Path(args.out) if args.out else _default_out(ds.name, args.model)
    source = {"path": _source_path(args.dataset), "format": args.format}
    bar = _ProgressBar(cfg.epochs, cfg.monitor, enabled=not args.no_progress and main)
    try:
        # the dashboard's Train page takes the same lock; other torchrun ranks save nothing
        with artifact_lock(out) if main else contextlib.nullcontext():
            trained = train_model(
                ds,
                args.model,
                overrides=overrides,
                train_config=cfg,
                out_dir=out if main else None,
                callbacks=[bar, *extra],
                dataset_source=source,
                checkpoint_every=args.checkpoint_every,
                init_from=args.init,
                strategy=strategy,
            )
    except (UnknownModelError, MiniBatchError) as err:
        raise UsageError(str(err)) from None
    finally:
        bar.close()
        if rank is not None:
            distributed.shutdown()
    if not main:
        return 0
    res = trained.result
    print(
        f"trained {args.model} on {ds.name}: {res.epochs_run} epochs "
        f"(best {res.best_epoch} by {res.monitor}), {res.train_seconds:.1f} s"
    )
    _print_metrics(trained.metrics["test"])
    print(f"saved {trained.path}")
    return 0


def _scale_strategy(args: argparse.Namespace, cfg):
    """(strategy or None, (Rank, device) under --distributed or None, extra callbacks)."""

    strategy = None
    if args.minibatch or args.fanouts:
        try:
            fanouts = tuple(int(f) for f in args.fanouts.split(",")) if args.fanouts else ()
        except ValueError:
            raise UsageError(
                f"--fanouts expects integers like 10,10,5, got {args.fanouts!r}"
            ) from None
        if any(f == 0 or f < -1 for f in fanouts):
            raise UsageError(f"--fanouts: each value is -1 (all) or positive, got {args.fanouts}")
        strategy = MiniBatch(fanouts=fanouts, seed=cfg.seed)
    if not args.distributed:
        return strategy, None, []

    rank = distributed.init(cfg.device)
    parallel = distributed.DataParallel(inner=strategy)
    return parallel, rank, [parallel.sync_callback()]


def _overrides(args: argparse.Namespace) -> dict[str, Any]:

    overrides: dict[str, Any] = {}
    if args.dim is not None:
        overrides["dim"] = args.dim
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = parse_override(args.model, key.strip(), value.strip())
    if overrides:
        make_config(args.model, overrides)  # unknown keys fail here, before loading data
    return overrides


def _train_config(args: argparse.Namespace, cls):
    given = {
        "epochs": args.epochs,
        "seed": args.seed,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "patience": args.patience,
        "smooth_window": args.smooth_window,
        "sampling": args.sampling,
        "split_method": args.split,
        "device": args.device,
    }
    return dataclasses.replace(cls(), **{k: v for k, v in given.items() if v is not None})


def _default_out(dataset_name: str, model: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    workspace = Path(os.environ.get("RECLENS_WORKSPACE", "workspace"))
    return workspace / "models" / f"{dataset_name}-{model}-{stamp}"


def _source_path(path: str) -> str:
    return path if path == "sample" else str(Path(path).resolve())


class _ProgressBar:
    """tqdm over epochs showing loss and the latest validation metric (a trainer Callback)."""

    def __init__(self, epochs: int, monitor: str, enabled: bool) -> None:

        self.key = f"val_{monitor}"
        self.latest: float | None = None
        self.bar = tqdm(total=epochs, unit="epoch", disable=not enabled, dynamic_ncols=True)

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        self.bar.reset(total=n_epochs)

    def on_batch_end(self, batch: int, loss: float) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.latest = logs.get(self.key, self.latest)
        post = {"loss": f"{logs['loss']:.4f}"}
        if self.latest is not None:
            post[self.key] = f"{self.latest:.4f}"
        self.bar.set_postfix(post)
        self.bar.update(1)

    def on_train_end(self, result) -> None:
        pass

    def close(self) -> None:
        self.bar.close()


# --- evaluate / recommend -----------------------------------------------------------------------


def _load(args: argparse.Namespace):
    return open_artifact(args.artifact, args.dataset, args.device, args.format)


def cmd_evaluate(args: argparse.Namespace) -> int:

    ds, trained = _load(args)
    res = evaluate_split(
        trained.model,
        trained.split,
        "test",
        item_attributes=item_attribute_matrix(ds.n_items, trained.inputs.kg),
    )
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": str(args.artifact),
                    "model": trained.meta["model"],
                    "dataset": ds.name,
                    **res.as_dict(),
                },
                indent=2,
                default=float,
            )
        )
        return 0
    print(f"{trained.meta['model']} on {ds.name}: {res.n_users} test users, {res.seconds:.2f} s")
    _print_metrics(res.metrics)
    for q in res.per_quartile:
        print(
            f"  activity quartile {int(q['quartile'])} ({int(q['min_train'])}-"
            f"{int(q['max_train'])} train items, {int(q['users'])} users): "
            f"recall@20 {q.get('recall@20', float('nan')):.4f}  "
            f"ndcg@20 {q.get('ndcg@20', float('nan')):.4f}"
        )
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    user_or_items(args)
    if args.items is not None:
        return cmd_recommend_items(args)
    ds, trained = _load(args)
    user = ds.user_ids.get(args.user)
    if user is None:
        raise UsageError(
            f"unknown user '{args.user}' in dataset {ds.name} "
            f"({ds.n_users} users, e.g. {', '.join(ds.user_ids.raw[:3])})"
        )
    split = trained.split
    seen_pairs = np.concatenate([split.train, split.valid])
    seen = torch.as_tensor(np.unique(seen_pairs[seen_pairs[:, 0] == user, 1]))
    device = model_device(trained.model)
    with torch.no_grad():
        scores, items = trained.model.recommend(torch.tensor([user], device=device), args.k, [seen])
    rows = [
        {
            "rank": r + 1,
            "item": ds.item_ids.to_raw(int(i)),
            "title": ds.title(int(i)),
            "score": float(s),
        }
        for r, (s, i) in enumerate(zip(scores[0], items[0], strict=True))
    ]
    if args.json:
        print(
            json.dumps({"user": args.user, "model": trained.meta["model"], "items": rows}, indent=2)
        )
        return 0
    print(f"top {len(rows)} for user {args.user} by {trained.meta['model']}:")
    for row in rows:
        print(f"{row['rank']:>4}  {row['item']:<12} {row['score']:>9.4f}  {row['title']}")
    return 0


def _print_metrics(metrics: dict[str, float]) -> None:
    names = sorted(metrics, key=lambda n: (n.split("@")[-1].zfill(4), n))
    for name in names:
        print(f"  {name:<20} {metrics[name]:.4f}")
