"""Item launch measured (issue 27): real items removed, the model retrained, each re-added by its
KG attributes alone, and its predicted audience compared with the real one.

    OMP_NUM_THREADS=1 python benchmarks/launch.py --dataset sample --models kgat transe transr
    OMP_NUM_THREADS=1 python benchmarks/launch.py --dataset ml-100k-recbole-kg --models transe \
        --max-epochs 30

Protocol. The dataset's random 80/10/10 split (seed 2020). N items with at least 10 users and
one KG triple are drawn (seed 11) and removed: every interaction with them (train, validation,
test) and every KG triple that touches them, so the retrained model knows nothing of them. Each
KG model is retrained on what is left (early stopping on validation NDCG@20, epoch cap
--max-epochs: a run that hits it is marked "cut"). Each removed item is then launched as a new
item (core.models.launch) from its original KG triples alone, and every user is scored for it.
Real audience: the users who interacted with the item anywhere in the data. Figures per item,
then averaged: Recall@50 (share of the real audience among the 50 most likely users) and AUC
(real audience against all other users, ties counted half), users ordered by the new item's
rank in their own list of unseen items (ties by score), as the dashboard's audience is. The
placement is chosen per model on the first half of the items (validation) by mean AUC; the
figures are those of the second half (test), computed once. (Placements: "neighbours", the
mean of its attribute entities' rows; "fitted", that fitted to its triples; "items", the mean
of the items that share its attributes, weighted by how many; see core.models.launch.)
Baselines on the same test items: "attribute overlap" scores a user by how many of their
training items share each of the new item's attribute entities (summed over entities); "random"
is seeded uniform scores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.cold_start import PATHS, train  # noqa: E402
from core.data import Split, load_dataset, split_dataset  # noqa: E402
from core.models.launch import PLACEMENTS, LaunchConfig, launch_item  # noqa: E402

SHARED = Path(os.environ.get("RECLENS_DATASETS", ROOT.parent / "shared" / "datasets"))
TOP = 50


def pick_items(ds, n: int, seed: int) -> np.ndarray:
    users_per_item = ds.interactions.groupby("item")["user"].nunique()
    kg = ds.kg[["head", "relation", "tail"]].to_numpy()
    in_kg = set(kg[:, 0].tolist()) | set(kg[:, 2].tolist())
    ok = [i for i, c in users_per_item.items() if c >= 10 and i in in_kg]
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(np.array(ok, dtype=np.int64))[:n])


def without_items(ds, split: Split, items: np.ndarray):
    """(dataset without the items' KG triples, split without their interactions)."""
    kg = ds.kg
    kept = kg[~(kg["head"].isin(items) | kg["tail"].isin(items))].reset_index(drop=True)
    reduced = dataclasses.replace(ds, kg=kept)

    def keep(rows: np.ndarray) -> np.ndarray:
        return rows[~np.isin(rows[:, 1], items)]

    return reduced, dataclasses.replace(
        split, train=keep(split.train), valid=keep(split.valid), test=keep(split.test)
    )


def item_triples(ds, item: int) -> np.ndarray:
    """The item's original KG triples with -1 in its place. int64 [T, 3]."""
    kg = ds.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    mine = kg[(kg[:, 0] == item) | (kg[:, 2] == item)].copy()
    other = np.where(mine[:, 0] == item, mine[:, 2], mine[:, 0])
    mine = mine[other >= ds.n_items]  # attributes only: item-item triples (sequels) left out
    for col in (0, 2):  # the item's own column only (a relation id may equal the item id)
        mine[mine[:, col] == item, col] = -1
    return mine


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="stable")
    ranks[order] = np.arange(1, len(scores) + 1)
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)  # ties: mean
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def figures(scores: np.ndarray, audience: np.ndarray) -> tuple[float, float]:
    positive = np.zeros(len(scores), bool)
    positive[audience] = True
    top = np.argsort(-scores, kind="stable")[:TOP]
    return float(positive[top].sum() / positive.sum()), auc(scores, positive)


def overlap_scores(ds, train: np.ndarray, triples: np.ndarray, kg: np.ndarray) -> np.ndarray:
    """Per user: sum over the new item's attribute entities of their training items linked to
    that entity (in the reduced KG). float64 [n_users]."""
    entities = np.where(triples[:, 0] == -1, triples[:, 2], triples[:, 0])
    linked = np.zeros(ds.n_entities)
    for e in entities:
        np.add.at(linked, np.concatenate([kg[kg[:, 2] == e, 0], kg[kg[:, 0] == e, 2]]), 1)
    return np.bincount(train[:, 0], weights=linked[train[:, 1]], minlength=ds.n_users)


@torch.no_grad()
def launched_scores(trained, triples: np.ndarray, placement: str, seen) -> np.ndarray:
    """How likely each user is to take the new item: minus its rank in the user's own list
    (unseen items), ties broken by score (as core.explain.launch's Audience orders users)."""
    got = launch_item(trained.model, trained.inputs, triples, LaunchConfig(placement=placement))
    users = torch.arange(trained.inputs.n_users)
    scores = got.model.score(users).double().cpu().numpy()
    scores[seen[:, 0], seen[:, 1]] = -np.inf
    own = scores[:, got.item]
    rank = (scores > own[:, None]).sum(1) + 1
    tie = np.argsort(np.argsort(own, kind="stable"), kind="stable") / len(own)  # in [0, 1)
    return -rank + tie


def run(args) -> None:
    ds = load_dataset(PATHS[args.dataset])
    split = split_dataset(ds, method="random", seed=2020)
    items = pick_items(ds, args.items, seed=11)
    half = len(items) // 2
    valid_items, test_items = items[:half], items[half:]
    reduced, reduced_split = without_items(ds, split, items)
    inter = ds.interactions[["user", "item"]].to_numpy(np.int64)
    audience = {int(i): np.unique(inter[inter[:, 1] == i, 0]) for i in items}
    triples = {int(i): item_triples(ds, int(i)) for i in items}
    kg = reduced.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    mean_audience = np.mean([len(a) for a in audience.values()])
    print(f"{args.dataset}: {len(items)} items removed ({half} validation, {len(test_items)} "
          f"test), mean real audience {mean_audience:.1f} users")  # fmt: skip
    print(f"| model | placement (valid AUC) | Recall@{TOP} | AUC | training |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(3)
    base = {"attribute overlap": [], "random": []}
    for i in test_items.tolist():
        over = overlap_scores(ds, reduced_split.train, triples[i], kg)
        base["attribute overlap"].append(figures(over, audience[i]))
        base["random"].append(figures(rng.random(ds.n_users), audience[i]))
    for name, rows in base.items():
        r, a = np.mean(rows, axis=0)
        print(f"| {name} (baseline) | - | {r:.4f} | {a:.4f} | - |", flush=True)
    for name in args.models:
        t0 = time.perf_counter()
        trained, note = train(reduced, name, reduced_split, args)
        seen = np.concatenate([reduced_split.train, reduced_split.valid])
        valid = {
            p: np.mean([figures(launched_scores(trained, triples[i], p, seen), audience[i])[1]
                        for i in valid_items.tolist()])
            for p in PLACEMENTS
        }  # fmt: skip
        best = max(valid, key=valid.get)
        test = [figures(launched_scores(trained, triples[i], best, seen), audience[i])
                for i in test_items.tolist()]  # fmt: skip
        r, a = np.mean(test, axis=0)
        chosen = f"{best} ({' / '.join(f'{p} {v:.4f}' for p, v in valid.items())})"
        print(f"| {name} | {chosen} | {r:.4f} | {a:.4f} | {note}; "
              f"{time.perf_counter() - t0:.0f} s all |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(PATHS), default="sample")
    parser.add_argument("--models", nargs="+", default=["kgat", "transe", "transr"])
    parser.add_argument("--items", type=int, default=40, help="items removed (40)")
    parser.add_argument("--max-epochs", type=int, default=100, help="epoch cap (100)")
    parser.add_argument("--patience", type=int, default=10, help="early stopping (10)")
    torch.set_num_threads(1)
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
