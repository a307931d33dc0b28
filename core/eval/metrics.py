"""Ranking and beyond-accuracy metrics, vectorised over a batch of users.

Accuracy metrics take `hits`, a bool [B, K] tensor saying whether the item at rank r (0-based) of
user b's top-K list is relevant, and `n_relevant`, int [B] the size of each user's relevant set.
They return one value per user (float [B]); the runner averages them. Relevance is binary.

Beyond-accuracy metrics take the recommended items themselves, int64 [B, K], plus item statistics
from the training data.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor


def _discounts(k: int, device: torch.device) -> Tensor:
    """1 / log2(rank + 2) for ranks 0..k-1: float [k]."""
    return 1.0 / torch.log2(torch.arange(k, device=device, dtype=torch.float64) + 2.0)


def recall_at_k(hits: Tensor, n_relevant: Tensor, k: int) -> Tensor:
    """|relevant in top-k| / |relevant|; 0 when nothing is relevant (the runner skips those)."""
    found = hits[:, :k].sum(1).double()
    return found / n_relevant.double().clamp(min=1)


def precision_at_k(hits: Tensor, k: int) -> Tensor:
    """|relevant in top-k| / k (k, not the list length, so short catalogues are not flattered)."""
    return hits[:, :k].sum(1).double() / k


def hit_rate_at_k(hits: Tensor, k: int) -> Tensor:
    """1 if any relevant item is in the top-k, else 0."""
    return hits[:, :k].any(1).double()


def ndcg_at_k(hits: Tensor, n_relevant: Tensor, k: int) -> Tensor:
    """DCG / ideal DCG with binary gains and a log2(rank + 2) discount.

    The ideal list puts min(|relevant|, k) relevant items first.
    """
    top = hits[:, :k].double()
    disc = _discounts(top.shape[1], hits.device)
    dcg = (top * disc).sum(1)
    ideal_cum = torch.cat([torch.zeros(1, dtype=torch.float64, device=hits.device), disc.cumsum(0)])
    n_ideal = n_relevant.clamp(max=top.shape[1]).long()
    idcg = ideal_cum[n_ideal]
    return torch.where(idcg > 0, dcg / idcg.clamp(min=1e-12), torch.zeros_like(dcg))


def mrr_at_k(hits: Tensor, k: int) -> Tensor:
    """1 / (rank of the first relevant item, 1-based) within the top-k; 0 if none."""
    top = hits[:, :k]
    any_hit = top.any(1)
    first = top.double().argmax(1)  # argmax returns the first maximal index
    return torch.where(any_hit, 1.0 / (first.double() + 1.0), torch.zeros_like(first.double()))


def accuracy_metrics(hits: Tensor, n_relevant: Tensor, ks: tuple[int, ...]) -> dict[str, Tensor]:
    """All accuracy metrics for every k in `ks`: name ("recall@20", ...) -> float [B]."""
    out: dict[str, Tensor] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(hits, n_relevant, k)
        out[f"ndcg@{k}"] = ndcg_at_k(hits, n_relevant, k)
        out[f"precision@{k}"] = precision_at_k(hits, k)
        out[f"hit@{k}"] = hit_rate_at_k(hits, k)
        out[f"mrr@{k}"] = mrr_at_k(hits, k)
    return out


# --- beyond accuracy --------------------------------------------------------------------------


def coverage(recommended: np.ndarray | Tensor, n_items: int) -> float:
    """Catalogue coverage: share of all items that appear in at least one top-k list."""
    rec = torch.as_tensor(recommended).reshape(-1)
    return float(torch.unique(rec).numel() / max(1, n_items))


def item_self_information(train_counts: np.ndarray, n_users: int) -> np.ndarray:
    """-log2 p(i) with p(i) = (users who interacted with i in training) / n_users.

    An item nobody interacted with is counted as if one user had, so its information is finite
    (log2 n_users, the largest value any item can have). Returns float64 [n_items].
    """
    counts = np.maximum(np.asarray(train_counts, dtype=np.float64), 1.0)
    return -np.log2(counts / max(1, n_users))


def novelty_per_user(recommended: Tensor, self_information: Tensor) -> Tensor:
    """Mean self-information of each user's recommended items: float [B]."""
    return self_information[recommended].double().mean(1)


def popularity_per_user(recommended: Tensor, train_counts: Tensor) -> Tensor:
    """Mean training interaction count of each user's recommended items: float [B]."""
    return train_counts[recommended].double().mean(1)


def item_attribute_matrix(n_items: int, kg: np.ndarray) -> sp.csr_matrix | None:
    """0/1 sparse matrix [n_items, n_entities]: entity e is a KG neighbour of item i.

    Neighbours are entities linked to the item by a triple in either direction (head or tail).
    Returns None when no item has a KG neighbour (diversity is then undefined).
    """
    triples = np.asarray(kg, dtype=np.int64).reshape(-1, 3)
    h, t = triples[:, 0], triples[:, 2]
    rows = np.concatenate([h[h < n_items], t[t < n_items]])
    cols = np.concatenate([t[h < n_items], h[t < n_items]])
    if len(rows) == 0:
        return None
    n_cols = int(max(h.max(), t.max())) + 1
    mat = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), (n_items, n_cols))
    mat.data[:] = 1.0  # duplicates were summed; an attribute counts once
    return mat


def intra_list_diversity(recommended: Tensor, attributes: sp.csr_matrix) -> tuple[Tensor, Tensor]:
    """1 - mean pairwise Jaccard similarity of the items' KG attribute sets, per user.

    recommended: int64 [B, K]; attributes: 0/1 sparse [n_items, n_entities].
    Pairs where both items have no attribute are left out (their similarity is undefined).
    Returns (diversity float64 [B], valid bool [B]) on CPU; a user with no defined pair is not
    valid. Cost: one sparse product over the batch's distinct items (U <= B * K), so the dense
    [U, U] intersection table stays small for B * K of a few thousand.
    """
    rec = recommended.cpu()
    uniq, inverse = torch.unique(rec.reshape(-1), return_inverse=True)
    sub = attributes[uniq.numpy()]
    inter = torch.from_numpy((sub @ sub.T).toarray())  # float32 [U, U] shared attributes
    size = torch.diagonal(inter)
    idx = inverse.view(rec.shape)
    a, b = idx.unsqueeze(2), idx.unsqueeze(1)  # every (k1, k2) pair: [B, K, 1] x [B, 1, K]
    both = inter[a, b]  # [B, K, K]
    union = size[a] + size[b] - both
    k = rec.shape[1]
    upper = torch.triu(torch.ones(k, k, dtype=torch.bool), diagonal=1)
    valid_pair = (union > 0) & upper
    jac = torch.where(valid_pair, both / union.clamp(min=1e-12), torch.zeros_like(both))
    n_pairs = valid_pair.sum((1, 2))
    mean_sim = jac.sum((1, 2)) / n_pairs.clamp(min=1)
    return 1.0 - mean_sim.double(), n_pairs > 0


def activity_quartiles(train_counts_per_user: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Quartile (0 = least active .. 3 = most active) of each evaluated user by training count.

    Users are ranked by count (ties broken by user id, so the split is deterministic) and cut into
    four groups of equal size. Returns int64 [len(users)].
    """
    counts = np.asarray(train_counts_per_user)[users]
    order = np.lexsort((users, counts))
    ranks = np.empty(len(users), dtype=np.int64)
    ranks[order] = np.arange(len(users))
    return (ranks * 4) // max(1, len(users))


def mean_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Average Jaccard overlap of two models' top-k lists, user by user.

    a, b: int [U, k] item ids (row u = user u's list in both). NaN when U = 0.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"lists for {a.shape[0]} and {b.shape[0]} users do not pair up")
    scores = [
        len(set(x) & set(y)) / max(1, len(set(x) | set(y))) for x, y in zip(a, b, strict=True)
    ]
    return float(np.mean(scores)) if scores else float("nan")
