"""Re-fitting one user's own parameters on an edited history, everything else frozen.

This is what "without these items" means for a model with free user parameters (BPR-MF,
LightGCN, KGAT, TransE/R): the user's parameters are re-optimised on the model's own BPR loss
over the edited history while item / entity / layer parameters stay as trained, and the
result is re-scored. B edited histories are fitted together as one [B, ...] parameter whose
loss is the sum of B independent per-column losses (Adam is element-wise, so the columns do
not interact).

The loss of column b is the BPR loss averaged over its history items h and a fixed set of
negatives n (every item outside the full history when there are at most `max_negatives` of
them, else a sample drawn with an explicit generator; items removed from the column's history
join its negatives, as they would in a retraining): mean_h mean_n softplus(s_n - s_h), plus
the model's L2 term on the user. It starts from the learned parameters. Deterministic: no
global seed, no shuffling.

Anchoring (`RefitConfig.anchored`, what the explanation context uses): the learned parameters
are in general not an optimum of this per-user objective (training used sampled batches,
dropout, other losses), so a plain re-fit of the *unedited* history already drifts away from
the model: on the sample it pushed about a third of a KGAT user's top-10 out of the top-10
with nothing removed, and those items could never get a counterfactual. Anchored, the caller
passes the user's full history as the LAST column and every column's loss is tilted by the
linear term -g . p, g the full-history column's gradient at the learned parameters. The
learned parameters are then a stationary point of the full-history column (its gradient is
exactly zero, so Adam leaves it exactly there: the baseline is the model itself), and an edited
column moves by what its edit changes in the objective, not by the fit's own drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from core.models.adam import adam_update_


@dataclass(frozen=True)
class RefitConfig:
    steps: int = 10  # full-batch Adam steps on the user's own parameters
    lr: float = 0.05  # Adam learning rate of those steps
    max_negatives: int = 256  # negatives per history item (all non-history items if fewer)
    seed: int = 0  # seed of the negative sample when it is a sample (with the user id)
    # the last history of every call is the user's full history, and each column's loss is
    # tilted so that the learned parameters are the full history's fixed point (module doc)
    anchored: bool = False


@dataclass(frozen=True)
class RefitResult:
    """Scores after re-fitting, and the re-fitted parameters they come from.

    scores: float [B, C] for the requested items; params: float [B, ...] the user's own
    parameters per edited history (pass them to `reference_scores` for an independent check).
    """

    scores: Tensor
    params: Tensor


def negatives(n_items: int, exclude: Tensor, user: int, config: RefitConfig) -> Tensor:
    """Item ids used as negatives: all items not in `exclude`, or `max_negatives` of them drawn
    with a generator seeded by (config.seed, user). int64 [N] on exclude's device."""
    device = exclude.device
    pool = torch.ones(n_items, dtype=torch.bool, device=device)
    pool[exclude] = False
    ids = pool.nonzero().squeeze(1)
    if len(ids) <= config.max_negatives:
        return ids
    gen = torch.Generator().manual_seed(config.seed * 1_000_003 + int(user))
    pick = torch.randperm(len(ids), generator=gen)[: config.max_negatives]
    return ids[pick.to(device)].sort().values


def history_mask(candidates: Tensor, histories: list[Tensor]) -> Tensor:
    """float [B, P]: 1 where candidate item p is in history b."""
    return torch.stack([torch.isin(candidates, h.to(candidates.device)) for h in histories]).float()


def fit(
    init: Tensor,
    objective: Callable[[Tensor], tuple[Tensor, Tensor]],
    pos_mask: Tensor,
    config: RefitConfig,
    gradient: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> Tensor:
    """Adam (betas 0.9 / 0.999, eps 1e-8) on the per-column BPR loss, from `init` (float
    [B, ...], not modified).

    objective(params) -> (scores float [B, P + N] of the P positive candidates then the N
    negatives, the model's L2 term on the user float [B]);
    pos_mask: float [B, P] which positives are in each column's history (the others are
    negatives of that column).
    Anchored (config.anchored): every column must start from the same `init` and the last
    one is the full history; each column's gradient is shifted by minus the last column's
    gradient at the start, so the last column stays exactly at `init`.
    gradient: optional closed form of the loss gradient, gradient(params, d_scores) ->
    float [B, ...], where d_scores [B, P + N] is the BPR part's gradient in the scores; it
    adds the L2 term's own (default: autograd through `objective`).
    Returns the fitted parameters, float [B, ...], detached.
    """
    n_pos = pos_mask.shape[1]
    weight = pos_mask / pos_mask.sum(1, keepdim=True).clamp(min=1)  # [B, P]
    params = init.detach().clone().requires_grad_(gradient is None)
    # Adam written out (`adam_update_`): torch.optim.Adam's first construction imports
    # torch._dynamo, 8 s at load on this machine, paid by the first card
    avg, avg_sq = torch.zeros_like(params), torch.zeros_like(params)
    neg_mask: Tensor | None = None
    tilt: Tensor | None = None
    with torch.enable_grad():
        for step in range(1, config.steps + 1):
            s, reg = objective(params)  # [B, P + N], [B]
            if neg_mask is None:  # an item removed from a column's history is a negative there
                neg_mask = torch.cat([1 - pos_mask, s.new_ones(s.shape[0], s.shape[1] - n_pos)], 1)
                neg_mask = neg_mask / neg_mask.sum(1, keepdim=True).clamp(min=1)
            # the BPR part's gradient in the scores, in closed form: with
            # x = s_n - s_h, d softplus(x) / dx = sigmoid(x) (no autograd graph over the
            # [B, P, P + N] pair tensor, the bulk of a step); autograd then only takes it
            # back through the objective's scores and L2 term
            pos = s.detach()[:, :n_pos]
            pair = torch.sigmoid(s.detach().unsqueeze(1) - pos.unsqueeze(2))  # [B, P, P + N]
            pair = pair * neg_mask.unsqueeze(1) * weight.unsqueeze(2)
            d_scores = pair.sum(1)
            d_scores[:, :n_pos] -= pair.sum(2)
            if gradient is None:
                (grad,) = torch.autograd.grad((s * d_scores).sum() + reg.sum(), params)
            else:
                grad = gradient(params, d_scores)
            if config.anchored:  # tilt: loss_b(p) - g . p, g the anchor's gradient at init
                if tilt is None:
                    tilt = grad[-1].clone()
                grad = grad - tilt
            with torch.no_grad():
                adam_update_(params, grad, avg, avg_sq, step, config.lr)
    return params.detach()
