"""One Adam update written out: the arithmetic of torch 2.2.1's single-tensor Adam.

Shared by the training loop (`core.models.optim`, which skips torch.optim's per-call overhead)
and the per-user re-fit (`core.models.refit`, which must not construct a `torch.optim.Adam`:
its first construction imports torch._dynamo, seconds on the dashboard's first card). Same ops
in the same order as torch's, so the training loop's weights stay bit-identical to
`opt.step()`'s (tests/train/test_optim.py, tests/explain/test_refit_adam.py).
"""

from __future__ import annotations

import math

from torch import Tensor


def adam_update_(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    step: float,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> None:
    """Update `param`, `exp_avg` and `exp_avg_sq` in place for Adam step number `step`
    (counted from 1, after this step's increment). No weight decay, AMSGrad or maximise."""
    beta1, beta2 = betas
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    # divided in place: the same values as `/`, one [*param.shape] temporary fewer per step
    denom = exp_avg_sq.sqrt().div_(math.sqrt(1 - beta2**step)).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**step))
