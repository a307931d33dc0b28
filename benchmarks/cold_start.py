"""Cold start measured (issue 27): held-out users folded in from their first n items.

    OMP_NUM_THREADS=1 python benchmarks/cold_start.py --dataset sample --models bprmf lightgcn
    OMP_NUM_THREADS=1 python benchmarks/cold_start.py --dataset ml-100k-recbole-kg \
        --models bprmf --max-epochs 30

Protocol. The dataset's random 80/10/10 split (seed 2020, the artifacts' split). A share of
the users with at least 10 training rows, one validation and one test row is held out entirely
(seed 7): the "cold" model is trained on everyone else's train / validation rows only. Each
held-out user is folded in (core.models.foldin) from the first n of their training rows (by
timestamp where the data has one), n = 1, 3, 5, 10, and ranked over every item except their
own training and validation rows (the same candidates for every row of the table, the warm
model's included); Recall@20 and NDCG@20 on their test rows. The fold-in's start (zero or the
mean user) is chosen per model on the held-out users' *validation* rows at n = 5, then the test
figures are computed once. "warm" is the model trained with these users' training rows in (the
bundled sample artifact where one exists, else trained here with the same settings), on the same
users and candidates; "mostpop" is popularity over the cold model's training rows.
Runs whose epochs hit --max-epochs without early stopping are marked "cut".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import Split, load_dataset, split_dataset  # noqa: E402
from core.models.foldin import FoldInConfig, fold_in  # noqa: E402
from core.store.artifacts import load_artifact, read_meta  # noqa: E402
from core.store.training import train_model  # noqa: E402
from core.train import TrainConfig  # noqa: E402

SHARED = Path(os.environ.get("RECLENS_DATASETS", ROOT.parent / "shared" / "datasets"))
PATHS = {"sample": "sample", "ml-100k-recbole-kg": str(SHARED / "ml-100k-recbole-kg")}
NS = (1, 3, 5, 10)
K = 20


def held_out_users(split: Split, share: float, cap: int, seed: int) -> np.ndarray:
    """Users with >= 10 training, >= 1 validation and >= 1 test rows; a seeded share of them."""
    n_train = np.bincount(split.train[:, 0])
    ok = set(np.flatnonzero(n_train >= 10).tolist())
    ok &= set(split.valid[:, 0].tolist()) & set(split.test[:, 0].tolist())
    users = np.array(sorted(ok), dtype=np.int64)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(users))[: min(cap, int(round(share * len(users))))]
    return np.sort(users[pick])


def ordered_history(ds, split: Split, user: int) -> np.ndarray:
    """The user's training items, earliest first where the data has timestamps."""
    items = split.train[split.train[:, 0] == user, 1]
    if "timestamp" not in ds.interactions.columns:
        return items
    rows = ds.interactions[ds.interactions["user"] == user]
    when = dict(zip(rows["item"].tolist(), rows["timestamp"].tolist(), strict=True))
    return items[np.argsort([when.get(int(i), 0) for i in items], kind="stable")]


def without_users(split: Split, users: np.ndarray) -> Split:
    def keep(rows: np.ndarray) -> np.ndarray:
        return rows[~np.isin(rows[:, 0], users)]

    return replace(split, train=keep(split.train), valid=keep(split.valid), test=keep(split.test))


def rank_metrics(scores: np.ndarray, exclude: np.ndarray, relevant: np.ndarray) -> tuple:
    """(Recall@20, NDCG@20) of one user's scores over the candidates."""
    s = scores.astype(np.float64).copy()
    s[exclude] = -np.inf
    top = np.argsort(-s, kind="stable")[:K]
    hits = np.isin(top, relevant).astype(np.float64)
    disc = 1 / np.log2(np.arange(2, K + 2))
    ideal = disc[: min(len(relevant), K)].sum()
    return hits.sum() / len(relevant), (hits * disc).sum() / ideal


def train(ds, name: str, split: Split, args) -> tuple:
    """(TrainedModel, epochs note) trained on `split` with the bundled settings where present."""
    bundled = ROOT / "sample_data" / "models" / name
    overrides, cfg = {}, TrainConfig(epochs=args.max_epochs, patience=args.patience, seed=2020)
    if args.dataset == "sample" and bundled.is_dir():
        meta = read_meta(bundled)
        overrides = meta.get("config") or {}
        tc = meta.get("train_config") or {}
        cfg = replace(cfg, lr=tc.get("lr"), batch_size=tc.get("batch_size"))
    t0 = time.perf_counter()
    trained = train_model(
        ds, name, overrides=overrides, train_config=cfg, split=split, evaluate_test=False
    )
    res = trained.result
    cut = res.epochs_run >= args.max_epochs and not res.stopped_early
    note = f"{res.epochs_run} ep{' (cut)' if cut else ''}, {time.perf_counter() - t0:.0f} s"
    return trained, note


def warm_model(ds, name: str, split: Split, args):
    bundled = ROOT / "sample_data" / "models" / name
    if args.dataset == "sample" and bundled.is_dir():
        return load_artifact(bundled, ds), "bundled artifact"
    return train(ds, name, split, args)


@torch.no_grad()
def folded_figures(trained, users, data, n: int, start: str, part: str) -> tuple[float, float]:
    """Mean (Recall@20, NDCG@20) of the held-out users folded in from their first n items."""
    config = FoldInConfig(start=start)
    out = []
    for u in users:
        hist, exclude, valid, test = data[u]
        folded = fold_in(trained.model, trained.inputs, hist[:n], config)
        scores = folded.model.score(torch.tensor([folded.user]))[0].cpu().numpy()
        if part == "valid":  # validation rows are the targets: only training rows are excluded
            out.append(rank_metrics(scores, hist, valid))
        else:
            out.append(rank_metrics(scores, exclude, test))
    return tuple(np.mean(out, axis=0))


@torch.no_grad()
def user_figures(model, users, data, score_of) -> tuple[float, float]:
    out = [rank_metrics(score_of(model, u), data[u][1], data[u][3]) for u in users]
    return tuple(np.mean(out, axis=0))


def own_scores(model, u: int) -> np.ndarray:
    return model.score(torch.tensor([int(u)]))[0].cpu().numpy()


def run(args) -> None:
    ds = load_dataset(PATHS[args.dataset])
    split = split_dataset(ds, method="random", seed=2020)
    users = held_out_users(split, args.share, args.max_users, seed=7)
    data = {}
    for u in users.tolist():
        hist = ordered_history(ds, split, u)
        valid = split.valid[split.valid[:, 0] == u, 1]
        data[u] = (hist, np.concatenate([hist, valid]), valid, split.test[split.test[:, 0] == u, 1])
    cold_split = without_users(split, users)
    print(
        f"{args.dataset}: {len(users)} held-out users; cold training rows {len(cold_split.train)}"
    )
    print("| model | start (valid) | n=1 R@20 / N@20 | n=3 | n=5 | n=10 | warm | training |")
    print("|---|---|---|---|---|---|---|---|")
    pop = np.bincount(cold_split.train[:, 1], minlength=ds.n_items).astype(np.float64)
    mp = user_figures(None, users.tolist(), data, lambda _m, _u: pop)
    same = " | ".join([f"{mp[0]:.4f} / {mp[1]:.4f}"] * len(NS))
    print(f"| mostpop | - | {same} | - | counts |", flush=True)
    for name in args.models:
        t0 = time.perf_counter()
        cold, note = train(ds, name, cold_split, args)
        starts = ("zero",) if name == "attention" else ("zero", "mean")  # no re-fit: zero row
        valid = {s: folded_figures(cold, users, data, 5, s, "valid")[1] for s in starts}
        start = max(valid, key=valid.get)
        cells = [folded_figures(cold, users, data, n, start, "test") for n in NS]
        warm, warm_note = warm_model(ds, name, split, args)
        w = user_figures(warm.model, users.tolist(), data, own_scores)
        chosen = f"{start} ({' / '.join(f'{s} {v:.4f}' for s, v in valid.items())})"
        row = " | ".join(f"{r:.4f} / {n:.4f}" for r, n in cells)
        print(
            f"| {name} | {chosen} | {row} | {w[0]:.4f} / {w[1]:.4f} | cold {note}; warm "
            f"{warm_note}; {time.perf_counter() - t0:.0f} s all |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(PATHS), default="sample")
    parser.add_argument("--models", nargs="+", default=["bprmf", "lightgcn", "kgat"])
    parser.add_argument("--share", type=float, default=0.1, help="users held out (0.1)")
    parser.add_argument("--max-users", type=int, default=100, help="at most this many (100)")
    parser.add_argument("--max-epochs", type=int, default=100, help="epoch cap (100)")
    parser.add_argument("--patience", type=int, default=10, help="early stopping (10)")
    torch.set_num_threads(1)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
