"""How well a model reproduces another system's top-k lists (a surrogate's agreement).

For each user with a list: overlap@k = |model's top k ∩ list's top k| / min(k, list length), the
model's top k ranked with the user's training items masked (as the lists are); rank correlation
= Spearman's rho between the list's order of its items and the model's scores of those same
items (the items both rankings place), users with at least 3 listed items. Both are averaged
over users; `agreement` returns them with the number of users.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from core.models.base import Recommender, model_device


@dataclass(frozen=True)
class Agreement:
    overlap: float  # mean overlap@k
    rank_corr: float  # mean Spearman rho on the listed items (nan when no user has 3)
    k: int
    n_users: int

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two equally long score vectors (higher = better in both); ties take
    their order of appearance, which scores of real models almost never need."""
    ra = np.argsort(np.argsort(-a, kind="stable"), kind="stable").astype(np.float64)
    rb = np.argsort(np.argsort(-b, kind="stable"), kind="stable").astype(np.float64)
    n = len(a)
    return float(1 - 6 * np.sum((ra - rb) ** 2) / (n * (n * n - 1)))


@torch.no_grad()
def agreement(
    model: Recommender,
    lists,
    users: np.ndarray,
    train: np.ndarray,
    k: int = 10,
    batch_size: int = 256,
) -> Agreement:
    """Agreement of `model` with `lists` (core.data.toplists.TopLists) on `users` (int64 [U],
    internal ids with a list); `train` int64 [N, 2] the pairs masked from the model's ranking."""
    device = model_device(model)
    seen = _by_user(train, model.n_users)
    overlaps, corrs = [], []
    model.eval()
    for lo in range(0, len(users), batch_size):
        batch = np.asarray(users[lo : lo + batch_size], dtype=np.int64)
        scores = model.score(torch.as_tensor(batch, device=device)).float().cpu().numpy()
        for row, u in enumerate(batch):
            s = scores[row].copy()
            s[seen.get(int(u), [])] = -np.inf
            listed = lists.ranked(int(u))
            if len(listed) == 0:
                continue
            cut = min(k, len(listed))
            top = np.argpartition(-s, cut)[:cut] if cut < len(s) else np.arange(len(s))
            overlaps.append(len(set(top.tolist()) & set(listed[:cut].tolist())) / cut)
            if len(listed) >= 3:
                order = -np.arange(len(listed), dtype=np.float64)  # the list's own order
                corrs.append(spearman(order, s[listed]))
    return Agreement(
        overlap=float(np.mean(overlaps)) if overlaps else float("nan"),
        rank_corr=float(np.mean(corrs)) if corrs else float("nan"),
        k=k,
        n_users=len(overlaps),
    )


def _by_user(pairs: np.ndarray, n_users: int) -> dict[int, np.ndarray]:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    order = np.argsort(pairs[:, 0], kind="stable")
    users, items = pairs[order, 0], pairs[order, 1]
    bounds = np.searchsorted(users, np.arange(n_users + 1))
    return {u: items[bounds[u] : bounds[u + 1]] for u in np.unique(users).tolist()}
