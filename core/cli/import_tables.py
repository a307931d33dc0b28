"""`python -m core import embeddings | lists`: artifacts from another system's embedding tables
or from a black box's top-k lists (core.store.imported)."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from core.cli.common import UsageError
from core.data import load_dataset
from core.data.load import resolve_path
from core.models.embedding_table import SCORE_RULES
from core.store.artifacts import artifact_lock
from core.store.imported import import_embeddings, import_lists
from core.train.surrogate import SURROGATES, SurrogateConfig
from core.train.trainer import Callback


def register(sources: argparse._SubParsersAction) -> None:
    """Add `embeddings` and `lists` to the `import` group's sub-parsers."""
    emb = sources.add_parser("embeddings", help="a user and an item embedding table")
    emb.add_argument("--users", required=True, help="user table: .parquet, .csv or .npy")
    emb.add_argument("--items", required=True, help="item table: .parquet, .csv or .npy")
    emb.add_argument("--user-ids", default=None, help="id file of a .npy user table")
    emb.add_argument("--item-ids", default=None, help="id file of a .npy item table")
    emb.add_argument("--score", choices=SCORE_RULES, default="dot", help="score rule (dot)")
    _common(emb)
    emb.set_defaults(handler=cmd_embeddings)
    lst = sources.add_parser("lists", help="a black box's top-k lists, explained by a surrogate")
    lst.add_argument("lists", help="user,item,rank[,score] table: .csv or .parquet")
    lst.add_argument(
        "--surrogate", choices=SURROGATES, default="lightgcn", help="model fitted (lightgcn)"
    )
    lst.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 300)")
    lst.add_argument("--seed", type=int, default=None, help="seed of the fit (default 2020)")
    _common(lst)
    lst.set_defaults(handler=cmd_lists)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help='dataset folder, or "sample"')
    parser.add_argument("--format", default=None, help="dataset format (default: detect)")
    parser.add_argument("--out", required=True, help="artifact folder to write")
    parser.add_argument("--library", default="", help="the system the files came from")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _load(args):
    dataset = load_dataset(args.dataset, args.format)
    return dataset, {"path": resolve_path(args.dataset), "format": args.format}


def cmd_embeddings(args: argparse.Namespace) -> int:
    dataset, source = _load(args)
    with artifact_lock(args.out):
        trained = import_embeddings(
            dataset,
            args.users,
            args.items,
            score=args.score,
            user_ids=args.user_ids,
            item_ids=args.item_ids,
            out=args.out,
            dataset_source=source,
            library=args.library,
        )
    gap = trained.meta["origin"]["measured"]["max_score_diff"]
    return _report(
        args, trained, f"scores equal the tables' {args.score} rule (max diff {gap:.1e})"
    )


def cmd_lists(args: argparse.Namespace) -> int:
    dataset, source = _load(args)
    overrides = {"model": args.surrogate}
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError("--epochs must be at least 1")
        overrides["epochs"] = args.epochs
    if args.seed is not None:
        overrides["seed"] = args.seed
    bar = _EpochBar(disabled=args.json)
    with artifact_lock(args.out):
        trained = import_lists(
            dataset,
            args.lists,
            config=SurrogateConfig(**overrides),
            out=args.out,
            dataset_source=source,
            callbacks=(bar,),
            library=args.library,
        )
    bar.close()
    m = trained.meta["origin"]["measured"]
    line = (
        f"{args.surrogate} surrogate agrees {m['agreement@10']:.3f}@10 with the lists on "
        f"{m['heldout_users']:.0f} held-out users (rank correlation {m['rank_corr']:.3f}; "
        f"{m['agreement@10_fitted']:.3f}@10 on the users it was fitted to)"
    )
    return _report(args, trained, line)


def _report(args, trained, line: str) -> int:
    test = trained.metrics["test"]
    if args.json:
        out = {
            "artifact": str(trained.path),
            "origin": trained.meta["origin"],
            "test": {k: test[k] for k in ("recall@20", "ndcg@20") if k in test},
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"wrote {trained.path}: {trained.meta['origin']['summary']}")
    print(line)
    nan = float("nan")
    recall, ndcg = test.get("recall@20", nan), test.get("ndcg@20", nan)
    print(f"test Recall@20 {recall:.4f}, NDCG@20 {ndcg:.4f}")
    return 0


class _EpochBar(Callback):
    """A tqdm bar of the surrogate's epochs on stderr (stdout stays clean for --json)."""

    def __init__(self, disabled: bool) -> None:
        self.bar = tqdm(desc="fitting surrogate", unit="epoch", file=sys.stderr, disable=disabled)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.bar.update(1)
        shown = {k: round(v, 4) for k, v in logs.items() if k.startswith("val_")}
        self.bar.set_postfix(shown)

    def close(self) -> None:
        self.bar.close()
