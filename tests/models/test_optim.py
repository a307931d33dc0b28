"""core/models/optim.py: the lean Adam step must leave exactly what torch.optim.Adam leaves."""

import torch

from core.models.optim import adam_step, clear_grads, step_all


def _pair(lr=1e-2, **kw):
    gen = torch.Generator().manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(7, 3, generator=gen)), torch.nn.Parameter(torch.randn(5))]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    return a, b, torch.optim.Adam(a, lr=lr, **kw), torch.optim.Adam(b, lr=lr, **kw)


def test_lean_adam_is_bit_identical_to_torch_adam_over_many_steps():
    a, b, ref, lean = _pair(betas=(0.8, 0.99), eps=1e-6)
    gen = torch.Generator().manual_seed(1)
    for step in range(30):
        grads = [torch.randn(p.shape, generator=gen) for p in a]
        for p, q, g in zip(a, b, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        if step % 4 == 3:  # a parameter without a gradient this step is left alone by both
            a[1].grad = b[1].grad = None
        ref.step()
        assert adam_step(lean)
        for p, q in zip(a, b, strict=True):
            assert torch.equal(p, q), step
    for p, q in zip(a, b, strict=True):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(ref.state[p][key], lean.state[q][key]), key
    # the state is torch's own: the ordinary step continues from it identically
    for p, q in zip(a, b, strict=True):
        p.grad, q.grad = torch.ones_like(p), torch.ones_like(q)
    ref.step()
    lean.step()
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))


def test_settings_it_does_not_replicate_go_through_torchs_step():
    for kw in ({"amsgrad": True}, {"weight_decay": 0.1}, {"maximize": True}, {"foreach": True}):
        a, b, ref, lean = _pair(**kw)
        for p, q in zip(a, b, strict=True):
            p.grad, q.grad = torch.ones_like(p), torch.ones_like(q)
        assert not adam_step(lean), kw
        assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))  # untouched
        ref.step()
        step_all([lean])
        assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True)), kw
    sgd = torch.optim.SGD(a, lr=0.1)
    assert not adam_step(sgd)


def test_clear_grads_sets_every_grad_to_none():
    a, _, ref, _ = _pair()
    for p in a:
        p.grad = torch.ones_like(p)
    clear_grads([ref])
    assert all(p.grad is None for p in a)


def test_fit_with_the_lean_step_trains_exactly_what_torchs_step_trains(monkeypatch):
    import dataclasses

    import core.train.trainer as trainer
    from tests.train.test_trainer import FAST, _setup

    def run():
        inputs, split, model = _setup()
        res = fit_(model, inputs, split, dataclasses.replace(FAST, epochs=3))
        return [h["loss"] for h in res.history], [p.detach().clone() for p in model.parameters()]

    fit_ = trainer.fit
    lean = run()
    monkeypatch.setattr(trainer, "step_all", lambda opts: [o.step() for o in opts])
    monkeypatch.setattr(trainer, "clear_grads", lambda opts: [o.zero_grad() for o in opts])
    ref = run()
    assert lean[0] == ref[0]
    assert all(torch.equal(p, q) for p, q in zip(lean[1], ref[1], strict=True))
