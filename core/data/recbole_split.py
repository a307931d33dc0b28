"""RecBole 1.2.x's train / valid / test split, rebuilt from the checkpoint's settings.

RecBole splits its kept interactions (core.data.recbole_ids) in `Dataset.build`:
- pre-split benchmark files: the parts as given;
- otherwise it orders the rows, "RO" by `torch.randperm(N)` right after seeding torch with the
  config's `seed` (nothing draws from torch in between when RecBole loads a dataset), "TO" by a
  stable sort on the timestamp, then
- "RS" [a, b, c]: per user (group_by "user", users in first-seen order, rows in the new order) the
  counts are int(b/s * n) valid and int(c/s * n) test, the rest train; a part whose share of n is
  in (0, 1) still gets one row while train keeps more than one (`_calcu_split_ids`);
- "LS" valid_and_test / valid_only / test_only: per user the last one or two rows.

`recbole_split` returns a core Split over RecLens ids; settings it does not know are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.dataset import Dataset, Split
from core.data.errors import DataError
from core.data.recbole_ids import RecBoleIds, recbole_ids

METHOD = "recbole"


def _counts(total: int, ratios: list[float]) -> list[int]:
    """RecBole's `_calcu_split_ids`, as part sizes."""
    cnt = [int(r * total) for r in ratios]
    cnt[0] = total - sum(cnt[1:])
    for i in range(1, len(ratios)):
        if cnt[0] <= 1:
            break
        if 0 < ratios[-i] * total < 1:
            cnt[-i] += 1
            cnt[0] -= 1
    return cnt


def _groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of each key, keys in first-seen order, positions ascending."""
    order = np.argsort(keys, kind="stable")
    uniq, first, counts = np.unique(keys[order], return_index=True, return_counts=True)
    starts = np.argsort(order[first], kind="stable")  # groups by their first position
    return [order[first[g] : first[g] + counts[g]] for g in starts]


def _order(ds: Dataset, rows: np.ndarray, eval_args: dict, seed: int, where: Path) -> np.ndarray:
    how = eval_args.get("order", "RO")
    if how == "RO":
        perm = torch.randperm(len(rows), generator=torch.Generator().manual_seed(int(seed)))
        return rows[perm.numpy()]
    if how == "TO":
        if "timestamp" not in ds.interactions.columns:
            raise DataError("order 'TO' needs timestamps, but the dataset has none", path=where)
        stamps = ds.interactions["timestamp"].to_numpy()[rows]
        return rows[np.argsort(stamps, kind="stable")]
    raise DataError(f"RecBole eval_args order {how!r} is not supported (RO, TO)", path=where)


def _labels(users: np.ndarray, eval_args: dict, where: Path) -> np.ndarray:
    """0 / 1 / 2 per ordered row."""
    split = eval_args.get("split") or {}
    mode, value = next(iter(split.items()), (None, None))
    group_by = eval_args.get("group_by", "user")
    labels = np.zeros(len(users), dtype=np.int64)
    if mode == "RS":
        total = float(sum(value))
        ratios = [r / total for r in value]
        if len(ratios) != 3:
            raise DataError(f"RS ratios {value}: expected three parts", path=where)
        if group_by in (None, "none"):
            groups = [np.arange(len(users))]
        elif group_by == "user":
            groups = _groups(users)
        else:
            raise DataError(f"RecBole group_by {group_by!r} is not supported", path=where)
        for index in groups:
            n_train, n_valid, _ = _counts(len(index), ratios)
            labels[index[n_train : n_train + n_valid]] = 1
            labels[index[n_train + n_valid :]] = 2
        return labels
    if mode == "LS":
        leave = {"valid_and_test": (1, 2), "valid_only": (1,), "test_only": (2,)}.get(value)
        if leave is None:
            raise DataError(f"RecBole LS mode {value!r} is not supported", path=where)
        for index in _groups(users):
            tail = min(len(leave), len(index) - 1)
            for k in range(tail):
                labels[index[len(index) - tail + k]] = leave[len(leave) - tail + k]
        return labels
    raise DataError(f"RecBole split {split!r} is not supported (RS, LS)", path=where)


def split_from_ids(ds: Dataset, ids: RecBoleIds, settings: dict[str, Any], where: Path) -> Split:
    """The Split RecBole made (module docstring), over RecLens (user, item) ids."""
    pairs = ds.interactions[["user", "item"]].to_numpy(np.int64)
    if settings.get("benchmark_filename"):
        given = ds.interactions["split"].to_numpy()[ids.rows]
        labels = np.select([given == "train", given == "valid", given == "test"], [0, 1, 2], -1)
        ordered = ids.rows
    else:
        eval_args = settings.get("eval_args") or {}
        ordered = _order(ds, ids.rows, eval_args, settings.get("seed", 2020), where)
        labels = _labels(pairs[ordered, 0], eval_args, where)
    parts = [np.ascontiguousarray(pairs[ordered[labels == k]]).reshape(-1, 2) for k in (0, 1, 2)]
    report = {"method": METHOD, "notes": list(ids.notes)}
    report.update(train=len(parts[0]), valid=len(parts[1]), test=len(parts[2]))
    return Split(*parts, method=METHOD, seed=settings.get("seed"), report=report)


def recbole_split(
    ds: Dataset, folder: str | Path, settings: dict[str, Any], knowledge: bool
) -> Split:
    """RecBole's split of `ds` (loaded from `folder`) under the checkpoint's settings."""
    ids = recbole_ids(ds, folder, settings, knowledge)
    return split_from_ids(ds, ids, settings, Path(folder))
