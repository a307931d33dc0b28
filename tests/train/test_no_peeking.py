"""No peeking at test: fit never scores the test pairs, and tuning runs need not either.

Each test records every evaluation's target pairs (by wrapping `core.eval.runner.evaluate`
where the trainer and train_model reach it) and checks the test pairs are not among them.
"""

import dataclasses

import numpy as np
import pytest
import torch

import core.eval.runner as runner
import core.train.trainer as trainer
from core.data import split_dataset
from core.models.base import ModelInputs
from core.models.registry import build_model
from core.store.training import train_model
from core.train import TrainConfig, fit
from core.train.trainer import NoValidationSet
from tests.train.fixture import tiny_dataset
from tests.train.test_trainer import Scripted

FAST = TrainConfig(epochs=3, batch_size=64, lr=0.01, patience=0, seed=7)


@pytest.fixture
def targets(monkeypatch) -> list[np.ndarray]:
    """The target pairs of every evaluation made through the runner, in call order."""
    seen: list[np.ndarray] = []
    real = runner.evaluate

    def spy(model, train, target, *args, **kwargs):
        seen.append(np.asarray(target))
        return real(model, train, target, *args, **kwargs)

    monkeypatch.setattr(runner, "evaluate", spy)  # evaluate_split looks it up here
    monkeypatch.setattr(trainer, "evaluate", spy)
    return seen


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def _setup():
    ds = tiny_dataset()
    split = split_dataset(ds, "random", seed=1)
    inputs = ModelInputs.from_dataset(ds, split)
    torch.manual_seed(7)
    return ds, inputs, split, build_model("bprmf", inputs, {"dim": 16})


def _without_valid(split):
    return dataclasses.replace(split, valid=np.zeros((0, 2), dtype=np.int64))


def test_fit_refuses_to_early_stop_on_a_split_without_validation(targets):
    # the old trainer silently monitored the test pairs here and kept the best epoch by them
    _, inputs, split, model = _setup()
    with pytest.raises(NoValidationSet, match="no validation rows"):
        fit(model, inputs, _without_valid(split), dataclasses.replace(FAST, patience=2))
    with pytest.raises(NoValidationSet):  # patience 0 still picked the best epoch by test
        fit(model, inputs, _without_valid(split), FAST)
    assert targets == []


def test_fixed_epochs_without_validation_trains_every_epoch_and_never_scores_test(targets):
    _, inputs, split, model = _setup()
    cfg = dataclasses.replace(FAST, epochs=4, patience=1, fixed_epochs=True)
    res = fit(model, inputs, _without_valid(split), cfg)
    assert res.epochs_run == 4 and res.best_epoch == 4 and not res.stopped_early
    assert res.monitor == "fixed epochs (last kept)"
    assert all("val_ndcg@20" not in h for h in res.history)
    assert targets == []


def test_fixed_epochs_keeps_the_last_epoch_even_when_validation_peaked_earlier(targets):
    _, inputs, split, _ = _setup()
    good = torch.zeros(inputs.n_users, inputs.n_items)
    good[split.valid[:, 0], split.valid[:, 1]] = 1.0
    model = Scripted(inputs.n_users, inputs.n_items, good)  # validation peaks at epoch 2
    cfg = dataclasses.replace(FAST, epochs=5, patience=1, fixed_epochs=True)
    res = fit(model, inputs, split, cfg)
    assert res.epochs_run == 5 and res.best_epoch == 5 and int(model.phase) == 5
    assert [h["val_ndcg@20"] for h in res.history][1] == pytest.approx(1.0)  # logged, not chosen
    assert targets and all(_same(t, split.valid) for t in targets)


def test_fit_validates_on_validation_pairs_only(targets):
    _, inputs, split, model = _setup()
    res = fit(model, inputs, split, FAST)
    assert res.monitor == "valid ndcg@20"
    assert len(targets) == 3 and all(_same(t, split.valid) for t in targets)


def test_a_tuning_run_evaluates_validation_and_never_test(targets):
    ds, _, split, _ = _setup()
    trained = train_model(
        ds, "bprmf", overrides={"dim": 16}, train_config=FAST, split=split, evaluate_test=False
    )
    assert "test" not in trained.metrics and trained.meta["test_evaluated"] is False
    assert trained.metrics["valid"]["ndcg@20"] == pytest.approx(trained.result.best_score)
    assert targets and not any(_same(t, split.test) for t in targets)


def test_a_final_run_scores_test_once_after_training(targets):
    ds, _, split, _ = _setup()
    trained = train_model(ds, "bprmf", overrides={"dim": 16}, train_config=FAST, split=split)
    assert [_same(t, split.test) for t in targets] == [False] * 3 + [True]
    assert trained.meta["test_evaluated"] is True and "ndcg@20" in trained.metrics["test"]
