"""A hand-made tiny dataset for model tests: 6 users, 8 items, 4 attribute entities, 2 relations."""

from __future__ import annotations

import numpy as np
import torch

from core.models.base import ModelInputs, Recommender

# (user, item) training rows, in "time" order per user
TRAIN = [
    (0, 0), (0, 1), (0, 2),
    (1, 1), (1, 2), (1, 3),
    (2, 4), (2, 5),
    (3, 5), (3, 6), (3, 7),
    (4, 0), (4, 4),
    (5, 2), (5, 6), (5, 7), (5, 3),
]  # fmt: skip
# entities 0..7 are the items; 8, 9 genres; 10, 11 directors
KG = [
    (0, 0, 8), (1, 0, 8), (2, 0, 8), (3, 0, 9), (4, 0, 9), (5, 0, 9), (6, 0, 8), (7, 0, 9),
    (0, 1, 10), (1, 1, 10), (4, 1, 11), (5, 1, 11), (6, 1, 10),
]  # fmt: skip


def tiny_inputs() -> ModelInputs:
    return ModelInputs(
        n_users=6,
        n_items=8,
        n_entities=12,
        n_relations=2,
        train=np.array(TRAIN, dtype=np.int64),
        kg=np.array(KG, dtype=np.int64),
        relation_names=("genre", "director"),
    )


def seen_items(inputs: ModelInputs) -> list[torch.Tensor]:
    """Training items per user, in the format `Recommender.recommend(seen=...)` takes."""
    train = torch.from_numpy(inputs.train)
    return [train[train[:, 0] == u, 1] for u in range(inputs.n_users)]


def bpr_batch(inputs: ModelInputs, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """All training pairs with one random unseen negative each (the trainer's sampling idea)."""
    train = torch.from_numpy(inputs.train)
    seen = set(map(tuple, inputs.train.tolist()))
    neg = torch.randint(0, inputs.n_items, (len(train),), generator=generator)
    for k, (u, _) in enumerate(train.tolist()):
        while (u, int(neg[k])) in seen:
            neg[k] = int(torch.randint(0, inputs.n_items, (1,), generator=generator))
    return train[:, 0], train[:, 1], neg


def run_steps(model: Recommender, inputs: ModelInputs, steps: int, lr: float = 0.05) -> list[float]:
    """A few full-batch Adam steps (and one `on_epoch_end`); returns the CF loss per step."""
    generator = torch.Generator().manual_seed(0)
    users, pos, neg = bpr_batch(inputs, generator)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model.loss(users, pos, neg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    model.on_epoch_end(0, generator)
    return losses


def trained_scores(build, inputs: ModelInputs, steps: int = 5, lr: float = 0.05) -> torch.Tensor:
    """Seed, build, train a few steps, and score every user: the determinism probe."""
    torch.manual_seed(123)
    model = build()
    run_steps(model, inputs, steps, lr)
    model.eval()
    model.prepare_inference()
    return model.score(torch.arange(inputs.n_users))


def check_contract(model: Recommender, inputs: ModelInputs, lr: float = 0.05) -> None:
    """The smoke checks every model passes on the tiny fixture after a few steps."""
    losses = run_steps(model, inputs, 8, lr)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    model.eval()
    model.prepare_inference()
    users = torch.arange(inputs.n_users)
    scores = model.score(users)
    assert scores.shape == (inputs.n_users, inputs.n_items)
    assert torch.isfinite(scores).all()
    seen = seen_items(inputs)
    _, top = model.recommend(users, 3, seen)
    for u in range(inputs.n_users):
        assert not set(top[u].tolist()) & set(seen[u].tolist())
    items = torch.tensor([0, 3, 5, 7])
    pairs = model.score_pairs(torch.full_like(items, 1), items)
    torch.testing.assert_close(pairs, scores[1, items], atol=1e-5, rtol=1e-5)


def check_history_rescoring(model: Recommender, inputs: ModelInputs) -> None:
    """`score_with_history` with the full history equals `score`; dropping items changes it."""
    items = torch.arange(inputs.n_items)
    for user, history in enumerate(seen_items(inputs)):
        full = model.score_with_history(user, history, items)
        torch.testing.assert_close(full, model.score(torch.tensor([user]))[0], atol=1e-5, rtol=1e-5)
    fewer = model.score_with_history(5, torch.tensor([2]), items)
    assert not torch.allclose(fewer, model.score(torch.tensor([5]))[0], atol=1e-3)


def paper_kgat_overrides(layer_dims: tuple[int, ...] = (8, 8)) -> dict:
    """Model overrides for the paper's KGAT (`core.models.kgat.PAPER`: bi-interaction layers,
    concatenated, normalised) at a test-sized depth, for tests written against that model."""
    from core.models.kgat_config import PAPER

    fields = ("aggregator", "combine", "normalize", "reg", "kg_triples")
    return {name: getattr(PAPER, name) for name in fields} | {"layer_dims": layer_dims}


def check_refit_equals_region_free(model, n_items, user, histories, config, region_free):
    """The model's re-fit of `user` on `histories` equals `region_free(model, user, histories,
    config)`'s parameters, and its scores equal the independent `reference_scores` with those
    parameters, to 1e-5. Returns the model's RefitResult."""
    items = torch.arange(n_items)
    got = model.refit_histories(user, histories, items, config)
    expected = region_free(model, user, histories, config)
    torch.testing.assert_close(got.params, expected, atol=1e-5, rtol=1e-5)
    for b, h in enumerate(histories):
        ref = model.reference_scores(user, h, items, expected[b])
        torch.testing.assert_close(got.scores[b], ref, atol=1e-5, rtol=1e-5)
    return got


def check_sample_refit(model: Recommender, inputs: ModelInputs, region_free) -> None:
    """`check_refit_equals_region_free` for user 7 of `inputs` on three edited histories (a
    suffix, every other item, all of it), 5 anchored steps."""
    from core.models.refit import RefitConfig

    history = torch.as_tensor(inputs.train[inputs.train[:, 0] == 7, 1])
    histories = [history[2:], history[::2], history]
    config = RefitConfig(steps=5, anchored=True)
    check_refit_equals_region_free(model, inputs.n_items, 7, histories, config, region_free)
