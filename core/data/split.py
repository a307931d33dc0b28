"""Train / validation / test splits of a Dataset's interactions.

- "random": per user, a seeded random `ratios` split. Each user with n interactions gets
  floor(n * valid) validation and floor(n * test) test rows and the rest in train, so every user
  keeps at least one training interaction.
- "leave-one-out": per user by timestamp (ties broken by file order): the latest -> test, the
  second latest -> valid, the rest -> train. A user with 2 interactions gets no valid row and a user
  with 1 keeps it in train, so that nobody is evaluated without training data.
- "given": the dataset's own `split` column, kept exactly. If it has no valid rows (KGAT), a seeded
  floor(n * ratios[1]) of each user's train rows is carved out as valid, so early stopping never
  looks at test.
Whatever the method, valid/test rows of users without any train row are removed and counted in
`Split.report` (they cannot be scored fairly).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from core.data.dataset import Dataset, Split
from core.data.errors import DataError

Method = Literal["random", "leave-one-out", "given"]
_EPS = 1e-9  # so that e.g. 0.29 * 100 counts as 29, not 28


def _rank_in_group(groups: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its 0-based rank within its group when sorted by keys, and its group's size."""
    order = np.lexsort((*reversed(keys), groups))  # groups is the primary key
    sorted_groups = groups[order]
    start = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - start
    size = np.bincount(groups)[groups] if len(groups) else np.zeros(0, np.int64)
    return rank, size


def _random_labels(users: np.ndarray, ratios: tuple[float, float, float], rng) -> np.ndarray:
    """0 = train, 1 = valid, 2 = test for each row."""
    rank, size = _rank_in_group(users, rng.random(len(users)))
    n_valid = np.floor(size * ratios[1] + _EPS).astype(np.int64)
    n_test = np.floor(size * ratios[2] + _EPS).astype(np.int64)
    n_train = size - n_valid - n_test
    return np.where(rank < n_train, 0, np.where(rank < n_train + n_valid, 1, 2))


def _loo_labels(ds: Dataset) -> np.ndarray:
    if "timestamp" not in ds.interactions.columns:
        raise DataError(
            "leave-one-out needs timestamps, but this dataset has none; use method='random'",
            path=ds.name,
            column="timestamp",
        )
    users = ds.interactions["user"].to_numpy()
    ts = ds.interactions["timestamp"].to_numpy()
    rank, size = _rank_in_group(users, ts, np.arange(len(users)))
    from_end = size - 1 - rank
    labels = np.zeros(len(users), dtype=np.int64)
    labels[(from_end == 0) & (size >= 2)] = 2
    labels[(from_end == 1) & (size >= 3)] = 1
    return labels


def _given_labels(ds: Dataset, valid_ratio: float, rng, report: dict) -> np.ndarray:
    if not ds.has_given_split:
        raise DataError(
            "method 'given' needs a dataset with its own train/test split", path=ds.name
        )
    split = ds.interactions["split"].to_numpy()
    labels = np.select([split == "train", split == "valid", split == "test"], [0, 1, 2], -1)
    if (labels < 0).any():
        bad = split[labels < 0][0]
        raise DataError(
            f"split value {bad!r} is not train/valid/test", path=ds.name, column="split"
        )
    if not (labels == 1).any():
        train = np.flatnonzero(labels == 0)
        users = ds.interactions["user"].to_numpy()[train]
        rank, size = _rank_in_group(users, rng.random(len(train)))
        carve = rank < np.floor(size * valid_ratio + _EPS)
        labels[train[carve]] = 1
        report["valid_carved_from_train"] = int(carve.sum())
        report["notes"].append(
            f"no given validation rows: {carve.sum()} rows (floor({valid_ratio:g} x each user's "
            "train rows), seeded) moved from train to valid; test kept exactly as given"
        )
    return labels


def split_dataset(
    ds: Dataset,
    method: Method | None = None,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 2020,
) -> Split:
    """Split ds.interactions; None means "given" when the dataset has its own split, else "random".

    Returns a Split whose train/valid/test are int64 [N, 2] (user, item) arrays in file order.
    """
    method = method or ("given" if ds.has_given_split else "random")
    total = float(sum(ratios))
    if len(ratios) != 3 or min(ratios) < 0 or total <= 0:
        raise ValueError(f"ratios must be three non-negative numbers, got {ratios}")
    fractions = (ratios[0] / total, ratios[1] / total, ratios[2] / total)
    rng = np.random.default_rng(seed)
    report: dict = {"method": method, "seed": seed, "notes": []}
    users = ds.interactions["user"].to_numpy()
    if method == "random":
        labels = _random_labels(users, fractions, rng)
    elif method == "leave-one-out":
        labels = _loo_labels(ds)
    elif method == "given":
        labels = _given_labels(ds, fractions[1], rng, report)
    else:
        raise ValueError(
            f"unknown split method {method!r}; expected random, leave-one-out or given"
        )
    labels = _drop_users_without_train(users, labels, ds.n_users, report)
    pairs = ds.interactions[["user", "item"]].to_numpy(np.int64)
    parts = [np.ascontiguousarray(pairs[labels == k]).reshape(-1, 2) for k in (0, 1, 2)]
    report.update(train=len(parts[0]), valid=len(parts[1]), test=len(parts[2]))
    return Split(*parts, method=method, seed=seed, report=report)


def _drop_users_without_train(
    users: np.ndarray, labels: np.ndarray, n_users: int, report: dict
) -> np.ndarray:
    has_train = np.zeros(n_users, dtype=bool)
    has_train[users[labels == 0]] = True
    orphan = ~has_train[users] & (labels > 0)
    report["users_without_train"] = int(len(np.unique(users[orphan])))
    report["dropped_valid"] = int((orphan & (labels == 1)).sum())
    report["dropped_test"] = int((orphan & (labels == 2)).sum())
    labels = labels.copy()
    labels[orphan] = -1
    return labels
