"""BPR-MF: matrix factorisation trained with the BPR pairwise loss (Rendle et al., UAI 2009).

score(u, i) = <e_u, e_i>. The L2 penalty is applied to the embeddings used in each batch and
averaged over the batch, as LightGCN's reference code does, so `reg` values transfer between the
two models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import ModelInputs, Recommender, draw_
from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives


@dataclass(frozen=True)
class BPRMFConfig:
    dim: int = 64  # embedding size of users and items
    # L2 weight on the batch's embeddings (sum of squares / 2 / batch). 1e-3 won on validation
    # NDCG@20 on ml-100k (narrowly) and amazon-book (0.0648 vs 0.0545 for 1e-4; RESULTS.md)
    reg: float = 1e-3
    init_std: float = 0.01  # std of the normal init; beat 0.1 on validation NDCG@20 (RUNLOG.md)
    # unused since re-fitting moved to core.models.refit (RefitConfig); kept so that the
    # meta.json of older artifacts still rebuilds this config
    foldin_steps: int = 50
    foldin_lr: float = 0.05
    foldin_negatives: int = 16
    seed: int = 2020
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
        self._train: Tensor | None = None  # int64 [N, 2] training pairs, set by `build`
        self.init_weights(None)

    def init_weights(self, generator: torch.Generator | None) -> None:
        for emb in (self.user_emb, self.item_emb):
            draw_(emb.weight, nn.init.normal_, generator, std=self.config.init_std)

    @classmethod
    def build(cls, inputs: ModelInputs, config: BPRMFConfig, device: torch.device) -> BPRMF:
        model = cls(inputs.n_users, inputs.n_items, config)
        model._train = torch.as_tensor(np.asarray(inputs.train, dtype=np.int64)).view(-1, 2)
        return model.to(device)

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """-log sigmoid(s(u,pos) - s(u,neg)) averaged over the [B] triples, plus L2.

        With dense gradients the value and its gradient come from `_BPRLoss` (one gather per
        table, the gradient in closed form, one index_add per table): the same numbers as
        autograd through the embedding lookups, to rounding, at about half the CPU time.
        """
        if not self.config.sparse_grad:
            return _BPRLoss.apply(
                self.user_emb.weight, self.item_emb.weight, users, pos, neg, self.config.reg
            )
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

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only: the learned user vector does not read the history, so the scores
        are unchanged (`refit_histories` answers "without these items"). [len(items)]."""
        items = items.to(self.item_emb.weight.device).long().view(-1)
        return self.item_emb.weight[items] @ self.user_emb.weight[int(user)]

    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's vector on each edited history (item embeddings frozen), starting
        from the learned one; score_i = <e_u, e_i>, so the fit and the scores are exact.
        Returns scores [B, C] and params [B, dim]."""
        q = self.item_emb.weight.detach()
        device, u = q.device, int(user)
        hists = [h.to(device).long().view(-1) for h in histories]
        full = torch.as_tensor(self._history(u), device=device)
        pos = torch.unique(torch.cat([full, *hists]))
        cand = q[torch.cat([pos, negatives(self.n_items, pos, u, config)])]
        params = fit(
            self.user_emb.weight[u].detach().unsqueeze(0).repeat(len(hists), 1),
            lambda e: (e @ cand.T, self.config.reg * e.pow(2).sum(1) / 2),
            history_mask(pos, hists),
            config,
        )
        return RefitResult(scores=params @ q[items.to(device).long()].T, params=params)

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """<e_u, e_i> with e_u = user_params (float [dim]) when given. Returns [C]."""
        vec = self.user_emb.weight[int(user)] if user_params is None else user_params
        return self.item_emb.weight[items.to(vec.device).long()] @ vec.to(self.item_emb.weight)

    @torch.no_grad()
    def history_influence(
        self, user: int, item: int, history: Tensor, config: RefitConfig
    ) -> Tensor:
        """First-order drop of score(user, item) when each training item h leaves the re-fit:
        with L(e) = mean_h l_h(e) + reg |e|^2 / 2 the re-fit objective (core.models.refit) and
        H its Hessian at the learned e, removing h moves e by H^-1 grad l_h / T, so the score
        drops by -q_item . H^-1 grad l_h / T. history: int64 [T]. Returns float [T]."""
        q = self.item_emb.weight
        u = int(user)
        e = self.user_emb.weight[u]
        hist = history.to(q.device).long().view(-1)
        if len(hist) == 0:
            return torch.zeros(0, device=q.device)
        neg = negatives(self.n_items, hist, u, config)
        diff = q[neg].unsqueeze(0) - q[hist].unsqueeze(1)  # [T, N, d]
        sig = torch.sigmoid(diff @ e)  # [T, N]
        grads = (sig.unsqueeze(2) * diff).mean(1)  # [T, d]: grad of l_h
        curv = (sig * (1 - sig)) / (len(hist) * len(neg))
        hess = torch.einsum("tn,tnd,tne->de", curv, diff, diff)
        hess = hess + self.config.reg * torch.eye(len(e), device=q.device)
        step = torch.linalg.solve(hess, grads.T)  # [d, T]
        return -(q[int(item)] @ step) / len(hist)

    def user_table(self) -> tuple[str, int]:
        return "user_emb.weight", 0

    def item_table(self) -> tuple[str, int]:
        return "item_emb.weight", 0

    def _history(self, user: int) -> Tensor:
        """The user's training items (the fit's positives also exclude them as negatives)."""
        if self._train is None:
            return torch.empty(0, dtype=torch.long)
        return self._train[self._train[:, 0] == user, 1]


class _BPRLoss(torch.autograd.Function):
    """BPR loss plus the batch L2 term of `BPRMF.loss`, differentiated by hand.

    With x_b = <u_b, p_b - n_b> and L = mean_b softplus(-x_b) + reg / (2B) sum of squares of
    the batch's rows: dL/du_b = w_b (p_b - n_b) + reg/B u_b, dL/dp_b = w_b u_b + reg/B p_b,
    dL/dn_b = -w_b u_b + reg/B n_b, where w_b = -sigmoid(-x_b) / B. Rows drawn several times
    in a batch accumulate (index_add), as the embedding backward does.
    """

    @staticmethod
    def forward(ctx, user_w, item_w, users, pos, neg, reg: float):  # noqa: D102
        b = len(users)
        items = torch.cat([pos, neg])
        u = user_w.index_select(0, users)
        rows = item_w.index_select(0, items)  # [2B, d]: positives, then negatives
        dpn = rows[:b] - rows[b:]
        x = (u * dpn).sum(1)  # [B] row dots
        # sums of squares as dot products: no [B, d] temporaries (memory traffic is the cost)
        l2 = torch.dot(u.view(-1), u.view(-1)) + torch.dot(rows.view(-1), rows.view(-1))
        ctx.save_for_backward(users, items, u, rows, dpn, x)
        ctx.reg, ctx.shapes = reg, (user_w.shape, item_w.shape)
        return F.softplus(-x).mean() + l2 * (reg / 2 / b)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        users, items, u, rows, dpn, x = ctx.saved_tensors
        b, decay = len(users), ctx.reg * grad / len(users)
        w = (torch.sigmoid(-x) * (-grad / b)).unsqueeze(1)  # [B, 1]
        wu = w * u
        grad_u = torch.mul(u, decay).addcmul_(w, dpn)  # in place: one [B, d] buffer, not two
        # kept as one fused add (wu + decay * rows): filling decay * rows first and adding wu
        # rounds differently, and BPR-MF's weights are meant to stay bit for bit the same
        grad_rows = torch.cat([wu, -wu]).add_(rows, alpha=float(decay))
        user_shape, item_shape = ctx.shapes
        grad_user = u.new_zeros(user_shape).index_add_(0, users, grad_u)
        grad_item = u.new_zeros(item_shape).index_add_(0, items, grad_rows)
        return grad_user, grad_item, None, None, None, None
