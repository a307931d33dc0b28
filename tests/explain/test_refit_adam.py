"""The re-fit's hand-written Adam: the same steps as torch.optim.Adam, without importing
torch._dynamo (whose import torch.optim.Adam triggers on first use, seconds on the shared
machine, paid by the dashboard's first card)."""

from __future__ import annotations

import subprocess
import sys

import torch

from core.models.refit import RefitConfig, fit


def _objective(q: torch.Tensor):
    return lambda e: (e @ q.T, 1e-3 * e.pow(2).sum(1) / 2)


def test_fit_takes_the_steps_torch_adam_takes():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(12, 4, generator=gen)
    init = torch.randn(1, 4, generator=gen).repeat(3, 1)
    pos_mask = torch.tensor([[1.0, 1, 1], [1, 0, 1], [0, 1, 1]])
    config = RefitConfig(steps=7, lr=0.05)
    got = fit(init, _objective(q), pos_mask, config)
    # the same loss, optimised by torch's Adam (the previous implementation)
    params = init.clone().requires_grad_(True)
    opt = torch.optim.Adam([params], lr=config.lr)
    weight = pos_mask / pos_mask.sum(1, keepdim=True)
    neg = torch.cat([1 - pos_mask, torch.ones(3, 9)], 1)
    neg = neg / neg.sum(1, keepdim=True)
    for _ in range(config.steps):
        s, reg = _objective(q)(params)
        pair = (
            torch.nn.functional.softplus(s.unsqueeze(1) - s[:, :3].unsqueeze(2)) * neg.unsqueeze(1)
        ).sum(2)
        loss = ((pair * weight).sum(1) + reg).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.testing.assert_close(got, params.detach(), rtol=1e-6, atol=1e-7)
    assert not torch.allclose(got, init)


def test_fit_does_not_import_torch_dynamo():
    code = (
        "import sys, torch\n"
        "from core.models.refit import RefitConfig, fit\n"
        "q = torch.eye(3)\n"
        "obj = lambda e: (e @ q.T, e.sum(1) * 0)\n"
        "fit(torch.ones(2, 3), obj, torch.ones(2, 1), RefitConfig())\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
