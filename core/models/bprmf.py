"""BPR-MF: matrix factorisation trained with the BPR pairwise loss (Rendle et al., UAI 2009).

score(u, i) = <e_u, e_i>. The L2 penalty is applied to the embeddings used in each batch and
averaged over the batch, as LightGCN's reference code does, so `reg` values transfer between the
two models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import ModelInputs, Recommender


@dataclass(frozen=True)
class BPRMFConfig:
    dim: int = 64  # embedding size of users and items
    # L2 weight on the batch's embeddings (sum of squares / 2 / batch). 1e-3 won on validation
    # NDCG@20 on ml-100k (narrowly) and amazon-book (0.0648 vs 0.0545 for 1e-4; RESULTS.md)
    reg: float = 1e-3
    init_std: float = 0.01  # std of the normal init; beat 0.1 on validation NDCG@20 (RUNLOG.md)
    foldin_steps: int = 50  # Adam steps when re-fitting one user's vector (score_with_history)
    foldin_lr: float = 0.05  # learning rate of that fold-in
    foldin_negatives: int = 16  # sampled negatives per history item in each fold-in step
    seed: int = 2020  # seed of the fold-in's negative sampling
    # Row-sparse gradients make the trainer use lazy Adam: each step touches only the batch's
    # rows, ~3x faster on amazon-book, but a rarely drawn row then moves ~10x less per draw than
    # under dense Adam, whose momentum keeps moving it for ~10 steps after each draw. On
    # amazon-book lazy Adam plateaued at Recall@20 0.065; dense Adam passed 0.09 in 10 epochs.
    sparse_grad: bool = False


class BPRMF(Recommender):
    name: ClassVar[str] = "bprmf"
    config_cls: ClassVar[type] = BPRMFConfig
    default_lr: ClassVar[float] = 2e-3  # tuned on ml-100k validation NDCG@20 (9 settings)

    def __init__(self, n_users: int, n_items: int, config: BPRMFConfig | None = None) -> None:
        super().__init__(n_users, n_items)
        self.config = config or BPRMFConfig()
        self.user_emb = nn.Embedding(n_users, self.config.dim, sparse=self.config.sparse_grad)
        self.item_emb = nn.Embedding(n_items, self.config.dim, sparse=self.config.sparse_grad)
        nn.init.normal_(self.user_emb.weight, std=self.config.init_std)
        nn.init.normal_(self.item_emb.weight, std=self.config.init_std)

    @classmethod
    def build(cls, inputs: ModelInputs, config: BPRMFConfig, device: torch.device) -> BPRMF:
        return cls(inputs.n_users, inputs.n_items, config).to(device)

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """-log sigmoid(s(u,pos) - s(u,neg)) averaged over the [B] triples, plus L2."""
        u, p, n = self.user_emb(users), self.item_emb(pos), self.item_emb(neg)
        diff = (u * p).sum(1) - (u * n).sum(1)
        l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / 2 / len(users)
        return F.softplus(-diff).mean() + self.config.reg * l2

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """(user rows, item table): score(u, i) = <e_u, e_i>."""
        return self.user_emb(users), self.item_emb.weight

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """float [B] as a row-wise dot product, without scoring the whole catalogue."""
        return (self.user_emb(users) * self.item_emb(items)).sum(1)

    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Fold-in: fit a fresh vector for `user` on `history` alone, item embeddings fixed.

        The vector starts at zero and takes `foldin_steps` full-batch Adam steps on the BPR loss
        against uniformly sampled non-history negatives (seeded by `seed` and the user id, so the
        same history always gives the same scores). Compare its output with
        `score_with_history(user, full_history, items)`, not with `score`: both sides of a
        counterfactual then come from the same fitting procedure. The model is not modified.
        Returns float [len(items)].
        """
        cfg = self.config
        q = self.item_emb.weight.detach()
        device = q.device
        hist = history.to(device).long().view(-1)
        items = items.to(device).long().view(-1)
        if hist.numel() == 0:
            return torch.zeros(len(items), device=device)
        gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 1_000_003 + int(user))
        u = torch.zeros(cfg.dim, device=device, requires_grad=True)
        opt = torch.optim.Adam([u], lr=cfg.foldin_lr)
        pos = q[hist].repeat(cfg.foldin_negatives, 1)  # [H * N, d]
        with torch.enable_grad():
            for _ in range(cfg.foldin_steps):
                neg_ids = torch.randint(0, self.n_items, (len(pos),), generator=gen).to(device)
                keep = ~torch.isin(neg_ids, hist)  # a history item is no negative
                diff = (pos @ u - q[neg_ids] @ u)[keep]
                loss = F.softplus(-diff).mean() + cfg.reg * u.pow(2).sum() / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
        return (q[items] @ u.detach()).clone()
