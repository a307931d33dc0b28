"""Fixed embedding tables from another system: score(u, i) = <e_u, e_i> (dot) or
<e_u / |e_u|, e_i / |e_i|> (cosine), exactly as the tables say.

Import-only (`python -m core import embeddings`): the tables come from elsewhere, so the model
is never offered for training. Explanations that re-fit the user on an edited history
(counterfactuals, deletion curves, influence) do what BPR-MF does: the user's vector is re-fitted
on the edited history with the BPR loss of core.models.refit, every item vector frozen, and
re-scored with the same rule. The user's learned vector is its start (anchored, it is the fixed
point of the full history), so an edit moves the scores by what it changes, not by the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import ModelInputs, Recommender, draw_
from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives

ScoreRule = Literal["dot", "cosine"]
SCORE_RULES: tuple[str, ...] = ("dot", "cosine")


@dataclass(frozen=True)
class EmbeddingTableConfig:
    dim: int = 64  # length of every user and item vector (set from the imported tables)
    score: str = "dot"  # "dot" or "cosine": how the tables score a pair
    reg: float = 1e-3  # L2 weight on the user's vector when it is re-fitted (as BPR-MF's)

    def __post_init__(self) -> None:
        if self.score not in SCORE_RULES:
            raise ValueError(f"score rule {self.score!r}: expected one of {', '.join(SCORE_RULES)}")


class EmbeddingTable(Recommender):
    name: ClassVar[str] = "embeddings"
    config_cls: ClassVar[type] = EmbeddingTableConfig

    def __init__(self, n_users: int, n_items: int, config: EmbeddingTableConfig) -> None:
        super().__init__(n_users, n_items)
        self.config = config
        self.user_emb = nn.Embedding(n_users, config.dim)
        self.item_emb = nn.Embedding(n_items, config.dim)
        self.init_weights(None)  # the import then overwrites both tables
        self._train: Tensor = torch.empty(0, 2, dtype=torch.long)

    @classmethod
    def build(
        cls, inputs: ModelInputs, config: EmbeddingTableConfig, device: torch.device
    ) -> EmbeddingTable:
        model = cls(inputs.n_users, inputs.n_items, config)
        model._train = torch.as_tensor(np.asarray(inputs.train, dtype=np.int64)).view(-1, 2)
        return model.to(device)

    def init_weights(self, generator: torch.Generator | None) -> None:
        """A small normal draw, as BPR-MF's; an import replaces it with the tables."""
        for emb in (self.user_emb, self.item_emb):
            draw_(emb.weight, nn.init.normal_, generator, std=0.1)

    @torch.no_grad()
    def set_tables(self, users: np.ndarray, items: np.ndarray) -> None:
        """Copy the imported tables (float [n_users, dim], [n_items, dim]) into the model."""
        for emb, table in ((self.user_emb, users), (self.item_emb, items)):
            emb.weight.copy_(torch.as_tensor(table, dtype=emb.weight.dtype))

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """BPR under the rule, plus the batch L2 of BPR-MF. Imports never train (the registry
        offers this model only to `import`); the loss keeps it a complete Recommender."""
        u = self._user(self.user_emb(users))
        diff = (u * self._items(pos)).sum(1) - (u * self._items(neg)).sum(1)
        rows = (self.user_emb(users), self.item_emb(pos), self.item_emb(neg))
        l2 = sum(r.pow(2).sum() for r in rows) / 2 / len(users)
        return F.softplus(-diff).mean() + self.config.reg * l2

    # --- scoring -----------------------------------------------------------------------------
    def _user(self, vectors: Tensor) -> Tensor:
        """The user side of the rule: as given (dot) or unit length (cosine). [..., d]."""
        return F.normalize(vectors, dim=-1) if self.config.score == "cosine" else vectors

    def _items(self, items: Tensor | None = None) -> Tensor:
        table = self.item_emb.weight if items is None else self.item_emb.weight[items]
        return F.normalize(table, dim=-1) if self.config.score == "cosine" else table

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """(user rows [B, d], item table [n_items, d]), unit length under cosine."""
        return self._user(self.user_emb(users)), self._items()

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """float [B]: the rule on each (user, item) pair."""
        return (self._user(self.user_emb(users)) * self._items(items)).sum(1)

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """The fixed user vector does not read the history: scores unchanged ("without these
        items" is `refit_histories`). [len(items)]."""
        items = items.to(self.item_emb.weight.device).long().view(-1)
        return self._items(items) @ self._user(self.user_emb.weight[int(user)])

    # --- re-fitting the user's vector --------------------------------------------------------
    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's vector on each edited history, item vectors frozen, from the
        imported one. Returns scores [B, C] and params [B, dim]."""
        device, u = self.item_emb.weight.device, int(user)
        hists = [h.to(device).long().view(-1) for h in histories]
        pos = torch.unique(torch.cat([self._history(u).to(device), *hists]))
        cand = self._items(torch.cat([pos, negatives(self.n_items, pos, u, config)])).detach()
        start = self.user_emb.weight[u].detach().unsqueeze(0).repeat(len(hists), 1)
        params = fit(
            start,
            lambda e: (self._user(e) @ cand.T, self.config.reg * e.pow(2).sum(1) / 2),
            history_mask(pos, hists),
            config,
        )
        scores = self._user(params) @ self._items(items.to(device).long()).T
        return RefitResult(scores=scores, params=params)

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """The rule with the user's vector replaced by user_params (float [dim]) when given."""
        vec = self.user_emb.weight[int(user)] if user_params is None else user_params
        vec = vec.to(self.item_emb.weight)
        return self._items(items.to(vec.device).long()) @ self._user(vec)

    def history_influence(
        self, user: int, item: int, history: Tensor, config: RefitConfig
    ) -> Tensor:
        """First-order drop of score(user, item) when each history item h leaves the re-fit
        (as BPR-MF's, differentiated by autograd so that both rules are covered): with
        L(e) = mean_h l_h(e) + reg |e|^2 / 2 and H its Hessian at the imported e, removing h
        moves e by H^-1 grad l_h / T. history: int64 [T]. Returns float [T]."""
        q = self.item_emb.weight.detach()
        hist = history.to(q.device).long().view(-1)
        if len(hist) == 0:
            return torch.zeros(0, device=q.device)
        neg = self._items(negatives(self.n_items, hist, int(user), config)).detach()
        pos = self._items(hist).detach()
        target = self._items(torch.tensor([int(item)], device=q.device)).detach()[0]
        e = self.user_emb.weight[int(user)].detach()
        reg = self.config.reg

        def per_item(v: Tensor) -> Tensor:  # l_h(v) for every h: [T]
            u = self._user(v)
            return F.softplus((neg @ u).unsqueeze(0) - (pos @ u).unsqueeze(1)).mean(1)

        def objective(v: Tensor) -> Tensor:
            return per_item(v).mean() + reg * v.pow(2).sum() / 2

        with torch.enable_grad():
            grads = torch.autograd.functional.jacobian(per_item, e)  # [T, d]
            hess = torch.autograd.functional.hessian(objective, e)  # [d, d]
            v = e.clone().requires_grad_(True)
            (score_grad,) = torch.autograd.grad(self._user(v) @ target, v)
        step = torch.linalg.solve(hess, grads.T)  # [d, T]
        return -(score_grad @ step) / len(hist)

    def _history(self, user: int) -> Tensor:
        return self._train[self._train[:, 0] == user, 1]
