"""Full-ranking evaluation of a Recommender, batched over users.

For each evaluated user every item is scored, the items the user met in training (and, when
evaluating on test, in validation) are masked to -inf, and the top-K list is compared with the
held-out items. Memory per batch is the batch's score block, batch_size x n_items floats; the batch
is cut so that block stays under SCORE_BLOCK_FLOATS (24 MB), whatever the number of users. On a
large catalogue scores are item-major, [n_items, B], and the top-k search skips blocks of items
that cannot reach the top k (core.eval.topk): on amazon-book this halved the evaluation time. On
a small one (under ITEM_MAJOR_MIN_ITEMS) they are user-major, [B, n_items], and `torch.topk`
runs along contiguous rows: on ml-100k's 1.6k items that is 2.5x as fast as the block search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from core.eval import metrics as M
from core.eval.topk import top_k_per_column
from core.models.base import Recommender, model_device

DEFAULT_KS = (10, 20)
# Largest score block per batch (floats). glibc serves blocks under 32 MB from memory it keeps;
# larger ones are mapped afresh on every batch, and on a VM each new page faults (~3 us/page):
# 1024 users x 25k items (100 MB) spent more time faulting than scoring.
SCORE_BLOCK_FLOATS = 6_000_000
# Catalogues from this size on are scored item-major with the block top-k (`_BatchScorer`).
# Measured with 1 thread (score product plus top-20 per batch of up to 1024 users): 1.6k items
# 13 vs 34 ms user-major vs item-major, 3.2k 22 vs 43 ms, 6.4k 42 vs 77 ms; amazon-book (25k)
# was measured item-major-faster with 2 threads on real scores, so it keeps that layout.
ITEM_MAJOR_MIN_ITEMS = 10_000


class UserItems:
    """Items per user as CSR arrays, for vectorised row gathers (no per-user Python loop)."""

    def __init__(self, pairs: np.ndarray, n_users: int, n_items: int) -> None:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        # distinct pairs sorted by user, then item, as one int64 key each (np.unique over rows
        # would sort structured rows, ~30x slower)
        self.n_items = n_items
        self.keys = np.unique(pairs[:, 0] * n_items + pairs[:, 1])
        self.items = self.keys % n_items
        counts = np.bincount(self.keys // n_items, minlength=n_users)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def counts(self, users: np.ndarray) -> np.ndarray:
        return self.indptr[users + 1] - self.indptr[users]

    def rows_cols(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in batch, item) for every item of every user in `users`: two int64 [nnz]."""
        counts = self.counts(users)
        starts = self.indptr[users]
        rows = np.repeat(np.arange(len(users)), counts)
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        return rows, offsets + np.arange(int(counts.sum()))

    def items_of(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        """bool, shaped like `items`: (users[b], items[b, j]) is one of the pairs.
        users: int64 [B]; items: int64 [B, K] on any device."""
        keys = torch.as_tensor(self.keys, device=items.device)
        if len(keys) == 0:
            return torch.zeros_like(items, dtype=torch.bool)
        query = users.view(-1, 1) * self.n_items + items
        pos = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
        return keys[pos] == query


@dataclass
class EvalResult:
    """Averages over evaluated users, per-quartile breakdown and timing."""

    metrics: dict[str, float]
    per_quartile: list[dict[str, float]] = field(default_factory=list)
    n_users: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "metrics": dict(self.metrics),
            "per_quartile": [dict(q) for q in self.per_quartile],
            "n_users": self.n_users,
            "seconds": self.seconds,
        }


def evaluate(
    model: Recommender,
    train: np.ndarray,
    target: np.ndarray,
    *,
    valid: np.ndarray | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    batch_size: int = 1024,
    item_attributes: sp.csr_matrix | None = None,
    beyond_accuracy: bool = True,
    device: torch.device | str | None = None,
) -> EvalResult:
    """Full-ranking metrics of `model` on the (user, item) pairs in `target`.

    train, target, valid: int64 [N, 2] (user, item). Items in `train` and in `valid` (pass it when
    `target` is the test set) are excluded from each user's ranking. Users with no target item are
    skipped. `item_attributes` (see metrics.item_attribute_matrix) enables intra-list diversity.
    The model is put in eval mode, `prepare_inference()` is called, and its train/eval mode is
    restored afterwards.
    """
    start = time.perf_counter()
    device = torch.device(device) if device is not None else model_device(model)
    n_users, n_items = model.n_users, model.n_items
    seen_pairs = train if valid is None or len(valid) == 0 else np.concatenate([train, valid])
    seen = UserItems(seen_pairs, n_users, n_items)
    relevant = UserItems(target, n_users, n_items)
    users = np.flatnonzero(relevant.counts(np.arange(n_users)) > 0)
    train_counts_item = np.bincount(np.asarray(train)[:, 1], minlength=n_items)
    stats = _ItemStats(train_counts_item, n_users, device)
    k_max = min(max(ks), n_items)
    batch_size = max(1, min(batch_size, SCORE_BLOCK_FLOATS // max(1, n_items)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model.prepare_inference()
            per_user = _ranked_batches(
                model,
                users,
                seen,
                relevant,
                ks,
                k_max,
                batch_size,
                device,
                stats,
                item_attributes if beyond_accuracy else None,
                beyond_accuracy,
            )
    finally:
        model.train(was_training)
    result = _summarise(per_user, users, train, n_users, n_items, beyond_accuracy)
    result.seconds = time.perf_counter() - start
    return result


@dataclass
class _ItemStats:
    counts_np: np.ndarray
    n_users: int
    device: torch.device

    def __post_init__(self) -> None:
        self.counts = torch.as_tensor(self.counts_np, dtype=torch.float64, device=self.device)
        info = M.item_self_information(self.counts_np, self.n_users)
        self.self_info = torch.as_tensor(info, device=self.device)


def _ranked_batches(
    model, users, seen, relevant, ks, k_max, batch_size, device, stats, attributes, beyond
) -> dict[str, list[Tensor]]:
    """Per-user metric values by name (float [B] per batch); "_covK" keys hold the distinct
    items recommended in each batch's top-K, for catalogue coverage."""
    per_user: dict[str, list[Tensor]] = {}
    scorer = _BatchScorer(model, batch_size, device)
    for lo in range(0, len(users), batch_size):
        batch = users[lo : lo + batch_size]
        top = _top_k(scorer, batch, seen, k_max, device)  # [B, K]
        hits = relevant.contains(torch.as_tensor(batch, device=device), top)
        n_rel = torch.as_tensor(relevant.counts(batch), device=device)
        values = M.accuracy_metrics(hits, n_rel, ks)
        if beyond:
            k_div = min(20, k_max)
            values["novelty@20"] = M.novelty_per_user(top[:, :k_div], stats.self_info)
            values["avg_popularity@20"] = M.popularity_per_user(top[:, :k_div], stats.counts)
            if attributes is not None:
                div, ok = _diversity(top[:, :k_div], attributes)
                values["diversity@20"] = torch.where(ok, div, torch.full_like(div, float("nan")))
            for k in ks:
                per_user.setdefault(f"_cov{k}", []).append(torch.unique(top[:, :k]).cpu())
        for name, v in values.items():
            per_user.setdefault(name, []).append(v.double().cpu())
    return per_user


def _diversity(top: Tensor, attributes: sp.csr_matrix) -> tuple[Tensor, Tensor]:
    """Diversity in chunks of 256 users so the [U, U] intersection table stays small."""
    parts = [M.intra_list_diversity(top[i : i + 256], attributes) for i in range(0, len(top), 256)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


class _BatchScorer:
    """Scores of every item for a batch of users: float [n_items, B] (item-major) when
    `item_major`, else [B, n_items] (user-major).

    For dot-product models (`score_factors`) the product goes into one buffer reused by every
    batch. Item-major is for large catalogues (`ITEM_MAJOR_MIN_ITEMS`); both choices were
    measured on amazon-book with 2 threads on our AMD EPYC machines: MKL's sgemm for [25k, 64] x
    [64, B] runs 1.6-1.8x as fast as for the user-major [B, 64] x [64, 25k] (1.9-2.2 vs 3.4 s per
    evaluation), and a fresh 24 MB block per batch cost about as much in page faults as the
    product itself on our VM. Other models return `score(users)` (transposed, a strided view,
    when item-major).
    """

    def __init__(self, model: Recommender, batch_size: int, device) -> None:
        self.model, self.device = model, device
        self.batch_size = batch_size
        self.item_major = model.n_items >= ITEM_MAJOR_MIN_ITEMS
        self.buffer = torch.empty(0, device=device)

    def __call__(self, users: Tensor) -> Tensor:
        factors = self.model.score_factors(users)
        if factors is None:
            scores = self.model.score(users).float()
            return scores.T if self.item_major else scores
        user_vectors, item_vectors = (f.detach().float() for f in factors)
        if self.buffer.numel() == 0:
            self.buffer = torch.empty(len(item_vectors) * self.batch_size, device=self.device)
        out = self.buffer[: len(item_vectors) * len(users)]
        if not self.item_major:
            out = out.view(len(users), len(item_vectors))
            return torch.mm(user_vectors, item_vectors.T, out=out)
        out = out.view(len(item_vectors), len(users))
        return torch.mm(item_vectors, user_vectors.T.contiguous(), out=out)


def _top_k(scorer: _BatchScorer, batch: np.ndarray, seen: UserItems, k: int, device) -> Tensor:
    """Top-k item ids per user with seen items masked: int64 [B, k]."""
    scores = scorer(torch.as_tensor(batch, device=device))  # [n_items, B] or [B, n_items]
    rows, cols = seen.rows_cols(batch)
    items = torch.as_tensor(seen.items[cols], device=device)
    rows = torch.as_tensor(rows, device=device)
    if not scorer.item_major:
        scores[rows, items] = float("-inf")
        return torch.topk(scores, k, dim=1).indices
    scores[items, rows] = float("-inf")
    return top_k_per_column(scores, k)[1]


def _summarise(per_user, users, train, n_users, n_items, beyond) -> EvalResult:
    cols = {n: torch.cat(v).numpy() for n, v in per_user.items() if not n.startswith("_")}
    metrics = {n: _nanmean(v) for n, v in cols.items()}
    if beyond:
        for name in [n for n in per_user if n.startswith("_cov")]:
            k = name[4:]
            metrics[f"coverage@{k}"] = float(
                torch.unique(torch.cat(per_user[name])).numel() / max(1, n_items)
            )
    quartiles = []
    if len(users):
        train_counts_user = np.bincount(np.asarray(train)[:, 0], minlength=n_users)
        q = M.activity_quartiles(train_counts_user, users)
        for g in range(4):
            sel = q == g
            if not sel.any():
                continue
            row = {"quartile": float(g + 1), "users": float(sel.sum())}
            act = train_counts_user[users[sel]]
            row["min_train"], row["max_train"] = float(act.min()), float(act.max())
            for name in ("recall@20", "ndcg@20", "recall@10", "ndcg@10"):
                if name in cols:
                    row[name] = _nanmean(cols[name][sel])
            quartiles.append(row)
    return EvalResult(metrics=metrics, per_quartile=quartiles, n_users=len(users))


def _nanmean(values: np.ndarray) -> float:
    ok = ~np.isnan(values)
    return float(values[ok].mean()) if ok.any() else float("nan")


EvalTarget = Literal["valid", "test"]


def evaluate_split(
    model: Recommender,
    split,
    target: EvalTarget = "test",
    **kwargs,
) -> EvalResult:
    """`evaluate` on a `core.data.Split`: validation masks train; test masks train and valid."""
    if target == "valid":
        return evaluate(model, split.train, split.valid, **kwargs)
    return evaluate(model, split.train, split.test, valid=split.valid, **kwargs)
