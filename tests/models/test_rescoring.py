"""Exact re-scoring of edited histories: the batched fast paths of LightGCN and KGAT equal a
full re-propagation of each edited graph, both through the model's own reference path and
through a second model built from the edited training data; the re-fit is exact for what
it returns, deterministic, and leaves the model untouched."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.models.base import ModelInputs, supports
from core.models.refit import RefitConfig
from core.models.registry import MODELS, build_model
from tests.models.tiny import run_steps, tiny_inputs

# user 5 trains on items 2, 6, 7, 3: removals, the empty history, and an added item (0)
HISTORIES = [
    torch.tensor([2, 6, 7, 3]),
    torch.tensor([2]),
    torch.tensor([6, 7]),
    torch.tensor([], dtype=torch.long),
    torch.tensor([0, 2, 6]),
]
BI = {"aggregator": "bi-interaction", "combine": "concat", "normalize": True}  # the paper's layers
CONFIGS = {
    "lightgcn": {"dim": 8},
    "kgat": {"dim": 8, "relation_dim": 8, "layer_dims": (8, 4), **BI},
    "kgat-1": {"dim": 8, "relation_dim": 8, "layer_dims": (8,), **BI},
    # the light aggregator with mean-combined layers (the sample's first-launch KGAT)
    "kgat-light": {
        "dim": 8,
        "relation_dim": 8,
        "layer_dims": (8, 8),
        "aggregator": "light",
        "combine": "mean",
        "normalize": False,
    },
}


def _trained(key: str, inputs: ModelInputs):
    torch.manual_seed(0)
    model = build_model(key.split("-")[0], inputs, CONFIGS[key])
    run_steps(model, inputs, 5)  # ends with on_epoch_end: KGAT's attention matches its weights
    model.eval()
    model.prepare_inference()
    return model


def _edited(inputs: ModelInputs, user: int, history: torch.Tensor) -> ModelInputs:
    train = inputs.train[inputs.train[:, 0] != user]
    own = np.stack([np.full(len(history), user), history.numpy()], 1).reshape(-1, 2)
    return dataclasses.replace(inputs, train=np.concatenate([train, own]).astype(np.int64))


def _rebuilt_scores(key: str, model, inputs: ModelInputs, user: int, history, user_vec=None):
    """Scores from a new model built on the edited training data with the same weights."""
    other = build_model(key.split("-")[0], _edited(inputs, user, history), CONFIGS[key])
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("attention")}
    other.load_state_dict(state, strict=False)
    if key.startswith("kgat"):  # logits from the trained weights, softmax on the edited CKG:
        other.refresh_attention()  # replacing the user's vector leaves attention fixed, as in
    if user_vec is not None:  # KGAT's CF phase
        table = other.embedding if key == "lightgcn" else other.node
        row = user if key == "lightgcn" else user + inputs.n_entities
        with torch.no_grad():
            table.weight[row] = user_vec
    other.eval()
    with torch.no_grad():
        return other.score(torch.tensor([user]))[0]


@pytest.mark.parametrize("key", list(CONFIGS))
def test_batched_rescoring_equals_full_repropagation(key):
    inputs = tiny_inputs()
    model = _trained(key, inputs)
    items = torch.arange(inputs.n_items)
    fast = model.score_with_histories(5, HISTORIES, items)
    assert fast.shape == (len(HISTORIES), inputs.n_items)
    for b, history in enumerate(HISTORIES):
        ref = model.reference_scores(5, history, items)
        torch.testing.assert_close(fast[b], ref, atol=1e-5, rtol=1e-5)
        rebuilt = _rebuilt_scores(key, model, inputs, 5, history)
        torch.testing.assert_close(fast[b], rebuilt, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast[0], model.score(torch.tensor([5]))[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(fast[1], fast[0], atol=1e-3)


@pytest.mark.parametrize("key", list(CONFIGS))
def test_batched_rescoring_with_user_params_equals_rebuilt_model(key):
    inputs = tiny_inputs()
    model = _trained(key, inputs)
    items = torch.arange(inputs.n_items)
    params = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    fast = model.score_with_histories(5, HISTORIES[:2], items, user_params=params)
    for b in range(2):
        rebuilt = _rebuilt_scores(key, model, inputs, 5, HISTORIES[b], params[b])
        torch.testing.assert_close(fast[b], rebuilt, atol=1e-5, rtol=1e-5)


REFIT_MODELS = ["bprmf", "lightgcn", "kgat", "transe", "transr", "embeddings"]


@pytest.mark.parametrize("name", REFIT_MODELS + ["kgat-light"])
def test_refit_is_exact_for_its_parameters_deterministic_and_pure(name):
    inputs = tiny_inputs()
    torch.manual_seed(0)
    over = {"dim": 8, **({"relation_dim": 8} if name.startswith(("kgat", "transr")) else {})}
    if name.startswith("kgat"):
        over = CONFIGS[name]
    model = build_model(name.split("-")[0], inputs, over)
    run_steps(model, inputs, 8)
    model.eval()
    model.prepare_inference()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    items = torch.arange(inputs.n_items)
    got = model.refit_histories(5, HISTORIES[:3], items, RefitConfig(steps=10))
    again = model.refit_histories(5, HISTORIES[:3], items, RefitConfig(steps=10))
    assert torch.equal(got.scores, again.scores)
    for b in range(3):
        ref = model.reference_scores(5, HISTORIES[b], items, got.params[b])
        torch.testing.assert_close(got.scores[b], ref, atol=1e-5, rtol=1e-5)
    # the user's parameters moved, differently per edited history
    assert not torch.allclose(got.params[0], got.params[1])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_every_model_with_free_user_parameters_declares_a_refit():
    refit = {n for n, cls in MODELS.items() if supports(cls.__new__(cls), "refit_histories")}
    assert refit == set(REFIT_MODELS)


@pytest.fixture(scope="module")
def sample_inputs():
    from core.data import load_dataset, split_dataset

    ds = load_dataset("sample")
    return ModelInputs.from_dataset(ds, split_dataset(ds, method="random", seed=2020))


SAMPLE_CONFIGS = {
    "lightgcn": {},
    "kgat": {"layer_dims": (32, 16), **BI},
    "kgat-light": {"layer_dims": (64, 64), "aggregator": "light", "combine": "mean"},
}


@pytest.mark.parametrize("name", list(SAMPLE_CONFIGS))
def test_batched_rescoring_parity_on_the_sample(name, sample_inputs):
    torch.manual_seed(0)  # untrained weights: parity does not need a trained model
    model = build_model(name.split("-")[0], sample_inputs, SAMPLE_CONFIGS[name])
    model.eval()
    user = 7
    history = torch.as_tensor(sample_inputs.train[sample_inputs.train[:, 0] == user, 1])
    histories = [history, history[2:], history[::2], history[:1]]
    items = torch.arange(sample_inputs.n_items)
    fast = model.score_with_histories(user, histories, items)
    for b, h in enumerate(histories):
        ref = model.reference_scores(user, h, items)
        torch.testing.assert_close(fast[b], ref, atol=1e-5, rtol=1e-5)
