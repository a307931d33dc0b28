"""Uniform negative sampling: for each (user, positive) pair, an item the user never trained on.

Vectorised rejection sampling: draw items uniformly for the whole batch, find the draws that hit a
training pair with one `searchsorted` over the sorted pair keys (user * n_items + item), and
redraw only those. With typical densities (< 5 %) one or two rounds suffice.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class NegativeSampler:
    """Samples items outside each user's training set. Holds int64 keys [N] on `device`, and,
    when users x items is at most `dense_limit`, a bool table [users * items] of the training
    pairs: one gather per test instead of a binary search (same answers, ~10x less time)."""

    max_rounds = 50  # a user who met (nearly) every item would otherwise loop for long
    dense_limit = 1 << 25  # cells of the bool table (32 MB); ml-100k needs 1.6 M

    def __init__(self, n_items: int, train: np.ndarray, device: torch.device | str = "cpu") -> None:
        pairs = np.asarray(train, dtype=np.int64).reshape(-1, 2)
        keys = np.unique(pairs[:, 0] * n_items + pairs[:, 1])
        self.n_items = n_items
        self.device = torch.device(device)
        self.keys = torch.from_numpy(keys).to(self.device)
        n_users = int(pairs[:, 0].max()) + 1 if len(pairs) else 0
        self.table: Tensor | None = None
        self._table_np: np.ndarray | None = None  # the same table, read by `_sample_cpu`
        if 0 < n_users * n_items <= self.dense_limit:
            table = torch.zeros(n_users * n_items, dtype=torch.bool)
            table[self.keys.cpu()] = True
            self.table = table.to(self.device)
            if self.device.type == "cpu":
                self._table_np = self.table.numpy()

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        """bool [B]: (users[b], items[b]) is a training pair."""
        query = users * self.n_items + items
        if self.table is not None:  # users without training pairs lie past the table's end
            inside = query < len(self.table)
            return self.table[query.clamp(max=len(self.table) - 1)] & inside
        pos = torch.searchsorted(self.keys, query).clamp(max=max(0, len(self.keys) - 1))
        return self.keys[pos] == query if len(self.keys) else torch.zeros_like(query, dtype=bool)

    def sample(self, users: Tensor, generator: torch.Generator) -> Tensor:
        """One negative item per user: int64 [B] on the sampler's device.

        `generator` lives on the CPU so the draw sequence is identical on every device. After
        `max_rounds` redraws a leftover collision is kept (only users who met nearly every item).
        """
        users = users.to(self.device)
        if (
            self._table_np is not None
            and len(users)
            and int(users.max()) * self.n_items < len(self._table_np)
        ):
            return self._sample_cpu(users, generator)
        neg = torch.randint(0, self.n_items, (len(users),), generator=generator).to(self.device)
        todo = self.is_positive(users, neg).nonzero().view(-1)  # positions still colliding
        for _ in range(self.max_rounds):
            if todo.numel() == 0:
                break
            redraw = torch.randint(0, self.n_items, (len(todo),), generator=generator)
            redraw = redraw.to(self.device)
            neg[todo] = redraw
            todo = todo[self.is_positive(users[todo], redraw)]
        return neg

    def _sample_cpu(self, users: Tensor, generator: torch.Generator) -> Tensor:
        """`sample` with the bool table on the CPU, its rounds in numpy: the same draws from
        `generator` in the same order (so the same negatives, `tests/train/test_sampling.py`)
        at a fraction of the per-op cost, which dominates for a batch of a few thousand."""
        table, n_items = self._table_np, self.n_items
        offsets = users.numpy() * n_items
        neg_t = torch.randint(0, n_items, (len(users),), generator=generator)
        neg = neg_t.numpy()  # shares neg_t's memory: the redraws below land in neg_t
        todo = np.flatnonzero(table[offsets + neg])
        for _ in range(self.max_rounds):
            if len(todo) == 0:
                break
            redraw = torch.randint(0, n_items, (len(todo),), generator=generator).numpy()
            neg[todo] = redraw
            todo = todo[table[offsets[todo] + redraw]]
        return neg_t
