"""fit(): loss goes down, runs are reproducible, early stopping restores the best weights."""

import dataclasses

import numpy as np
import pytest
import torch

from core.data import split_dataset
from core.models.base import ModelInputs, Recommender
from core.models.registry import build_model
from core.train import Callback, TrainConfig, fit
from core.train.sampling import NegativeSampler
from core.train.trainer import _PairBatches
from tests.train.fixture import tiny_dataset

FAST = TrainConfig(epochs=2, batch_size=64, lr=0.01, patience=0, seed=7)


def _setup(seed: int = 7):
    ds = tiny_dataset()
    split = split_dataset(ds, "random", seed=1)
    inputs = ModelInputs.from_dataset(ds, split)
    torch.manual_seed(seed)
    return inputs, split, build_model("bprmf", inputs, {"dim": 16})


def test_bprmf_loss_decreases_and_epochs_are_timed():
    inputs, split, model = _setup()
    res = fit(model, inputs, split, dataclasses.replace(FAST, epochs=3))
    losses = [h["loss"] for h in res.history]
    assert res.epochs_run == 3 and len(res.seconds_per_epoch) == 3
    assert losses[-1] < losses[0]
    assert all(s > 0 for s in res.seconds_per_epoch)
    assert "val_ndcg@20" in res.history[0] and res.monitor == "valid ndcg@20"


def test_same_seed_same_result_other_seed_differs():
    def run(seed):
        inputs, split, model = _setup(seed)
        res = fit(model, inputs, split, dataclasses.replace(FAST, seed=seed))
        return [h["loss"] for h in res.history], model.item_emb.weight.detach().clone()

    (l1, w1), (l2, w2), (_, w3) = run(7), run(7), run(8)
    assert l1 == l2 and torch.equal(w1, w2)
    assert not torch.equal(w1, w3)


def test_model_without_parameters_skips_the_loop():
    inputs, split, _ = _setup()
    model = build_model("mostpop", inputs, {})
    res = fit(model, inputs, split, FAST)
    assert res.epochs_run == 0 and res.history == []


class Scripted(Recommender):
    """Ranks the validation items first only in epoch 2, so validation NDCG peaks there.

    `phase` is a buffer set in on_epoch_end; restoring the best state must bring back phase 2.
    """

    name = "scripted"

    def __init__(self, n_users, n_items, good: torch.Tensor) -> None:
        super().__init__(n_users, n_items)
        self.w = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("phase", torch.zeros((), dtype=torch.long))
        self.register_buffer("good", good)

    def loss(self, users, pos, neg):
        return (self.w**2).sum()

    def on_epoch_end(self, epoch, generator):
        self.phase.fill_(epoch)
        return {"phase": float(epoch)}

    def score(self, users):
        sign = 1.0 if int(self.phase) == 2 else -1.0
        return sign * self.good[users]


def test_early_stopping_restores_best_epoch():
    inputs, split, _ = _setup()
    good = torch.zeros(inputs.n_users, inputs.n_items)
    good[split.valid[:, 0], split.valid[:, 1]] = 1.0
    model = Scripted(inputs.n_users, inputs.n_items, good)
    cfg = dataclasses.replace(FAST, epochs=20, patience=2)
    res = fit(model, inputs, split, cfg)
    assert res.best_epoch == 2
    assert res.epochs_run == 4 and res.stopped_early
    assert int(model.phase) == 2  # best weights (and buffers) restored
    assert res.best_score == pytest.approx(1.0)
    assert [h["phase"] for h in res.history] == [1.0, 2.0, 3.0, 4.0]


def test_validating_only_after_the_last_epoch_keeps_the_last_epoch():
    # the refit protocol (benchmarks/accuracy.py --fixed-epochs): with eval_every past the last
    # epoch nothing is chosen on the monitored set, even when an earlier epoch would score higher
    inputs, split, _ = _setup()
    good = torch.zeros(inputs.n_users, inputs.n_items)
    good[split.valid[:, 0], split.valid[:, 1]] = 1.0
    model = Scripted(inputs.n_users, inputs.n_items, good)
    res = fit(model, inputs, split, dataclasses.replace(FAST, epochs=4, eval_every=5, patience=2))
    assert res.epochs_run == 4 and res.best_epoch == 4 and int(model.phase) == 4
    assert ["val_ndcg@20" in h for h in res.history] == [False, False, False, True]


def test_callbacks_see_every_epoch_and_can_stop():
    class Recorder(Callback):
        def __init__(self):
            self.epochs, self.batches, self.began, self.ended = [], 0, None, None

        def on_train_begin(self, n_epochs, n_batches):
            self.began = (n_epochs, n_batches)

        def on_batch_end(self, batch, loss):
            self.batches += 1

        def on_epoch_end(self, epoch, logs):
            self.epochs.append(epoch)
            return epoch == 2  # ask to stop after epoch 2

        def on_train_end(self, result):
            self.ended = result.epochs_run

    inputs, split, model = _setup()
    rec = Recorder()
    fit(model, inputs, split, dataclasses.replace(FAST, epochs=5), callbacks=[rec])
    n_batches = int(np.ceil(len(inputs.train) / FAST.batch_size))
    assert rec.began == (5, n_batches)
    assert rec.epochs == [1, 2] and rec.ended == 2 and rec.batches == 2 * n_batches


def test_negative_sampler_avoids_training_items_and_is_seeded():
    train = np.array([[0, 0], [0, 1], [0, 2], [1, 3]])
    sampler = NegativeSampler(4, train)
    users = torch.tensor([0] * 200 + [1] * 200)
    neg = sampler.sample(users, torch.Generator().manual_seed(3))
    assert (neg[:200] == 3).all()  # user 0's only unseen item
    assert not (neg[200:] == 3).any()
    again = sampler.sample(users, torch.Generator().manual_seed(3))
    assert torch.equal(neg, again)
    assert sampler.is_positive(torch.tensor([0, 1, 1]), torch.tensor([2, 3, 0])).tolist() == [
        True,
        True,
        False,
    ]


def test_negative_sampler_table_and_binary_search_agree(monkeypatch):
    """The bool table (small catalogues) answers exactly as the sorted keys do, for users
    past the last one with training pairs too, so the drawn negatives are the same."""
    rng = np.random.default_rng(0)
    train = np.unique(rng.integers(0, [30, 40], size=(300, 2)), axis=0)
    dense = NegativeSampler(40, train)
    monkeypatch.setattr(NegativeSampler, "dense_limit", 0)
    keys_only = NegativeSampler(40, train)
    assert dense.table is not None and keys_only.table is None
    users, items = torch.randint(0, 33, (2000,)), torch.randint(0, 40, (2000,))
    assert torch.equal(dense.is_positive(users, items), keys_only.is_positive(users, items))
    assert dense.is_positive(users, items).any() and not dense.is_positive(users + 30, items).any()
    draw = [s.sample(users, torch.Generator().manual_seed(5)) for s in (dense, keys_only)]
    assert torch.equal(*draw)


def test_negative_sampler_numpy_rounds_draw_the_torch_rounds_negatives():
    """The CPU table path runs its rejection rounds in numpy; it must take the same draws from
    the generator in the same order: the same negatives, and the generator left where the
    torch rounds leave it."""
    rng = np.random.default_rng(1)
    train = np.unique(rng.integers(0, [30, 12], size=(250, 2)), axis=0)  # dense: many rounds
    fast = NegativeSampler(12, train)
    slow = NegativeSampler(12, train)
    slow._table_np = None  # the torch rounds
    users = torch.from_numpy(rng.integers(0, 30, 3000))
    gens = [torch.Generator().manual_seed(9) for _ in range(2)]
    draws = [s.sample(users, g) for s, g in zip((fast, slow), gens, strict=True)]
    assert torch.equal(*draws)
    assert not fast.is_positive(users, draws[0]).any()
    assert torch.equal(*(torch.randint(0, 1000, (5,), generator=g) for g in gens))


def test_pair_batches_are_the_shuffled_pairs_in_order():
    pairs = torch.from_numpy(np.random.default_rng(2).integers(0, 50, size=(1001, 2)))
    batches = _PairBatches(pairs, 64)
    got = list(batches.epoch(torch.Generator().manual_seed(4)))
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(4))
    want = [(pairs[c][:, 0], pairs[c][:, 1]) for c in order.split(64)]  # the old batches
    assert len(got) == len(want) == 16
    for (u, i), (wu, wi) in zip(got, want, strict=True):
        assert torch.equal(u, wu) and torch.equal(i, wi)


def test_a_stop_request_between_validations_still_scores_the_last_epoch():
    class StopAt2(Callback):
        def on_epoch_end(self, epoch, logs):
            return epoch == 2

    inputs, split, model = _setup()
    cfg = dataclasses.replace(FAST, epochs=10, eval_every=5)
    res = fit(model, inputs, split, cfg, callbacks=[StopAt2()])
    assert res.epochs_run == 2 and res.best_epoch == 2
    assert "val_ndcg@20" in res.history[-1] and "val_ndcg@20" not in res.history[0]


def test_nothing_held_out_trains_all_epochs_without_validation():
    inputs, split, model = _setup()
    empty = np.zeros((0, 2), dtype=np.int64)
    bare = dataclasses.replace(split, valid=empty, test=empty)
    cfg = dataclasses.replace(FAST, epochs=3, patience=1, fixed_epochs=True)
    res = fit(model, inputs, bare, cfg)
    assert res.epochs_run == 3 and res.best_epoch == 3 and res.eval_seconds == []


def test_sparse_embeddings_get_lazy_adam_and_dense_parameters_adam():
    from core.train.trainer import make_optimizers

    model = torch.nn.Module()
    model.emb = torch.nn.Embedding(10, 4, sparse=True)
    model.lin = torch.nn.Linear(4, 1)
    opts = make_optimizers(model, 0.01)
    kinds = {
        type(o).__name__: sum(p.numel() for g in o.param_groups for p in g["params"]) for o in opts
    }
    assert kinds == {"Adam": 5, "SparseAdam": 40}


def test_user_sampling_draws_distinct_users_and_their_own_items():
    from core.train.trainer import _batch_source

    # user 0 has 1 item, user 1 has 3, user 3 has 6; user 2 has none and must never be drawn
    pairs = [(0, 5)] + [(1, i) for i in (1, 2, 3)] + [(3, i) for i in range(10, 16)]
    source = _batch_source("users", torch.tensor(pairs), n_users=4, batch_size=2)
    gen = torch.Generator().manual_seed(0)
    own = {u: {i for uu, i in pairs if uu == u} for u in range(4)}
    batches = [b for _ in range(200) for b in source.epoch(gen)]
    assert len(batches) == 200 * 5  # ceil(10 pairs / 2) steps per epoch
    counts = torch.zeros(4)
    for users, pos in batches:
        assert len(set(users.tolist())) == 2  # distinct within a batch
        assert all(i in own[u] for u, i in zip(users.tolist(), pos.tolist(), strict=True))
        counts += torch.bincount(users, minlength=4)
    assert counts[2] == 0
    # uniform over users, not over pairs: user 0 (1 pair) as often as user 3 (6 pairs)
    share = counts / counts.sum()
    assert abs(share[0] - 1 / 3) < 0.03 and abs(share[3] - 1 / 3) < 0.03
    # every item of a user is reachable
    pairs_drawn = [
        (u, i) for us, ps in batches for u, i in zip(us.tolist(), ps.tolist(), strict=True)
    ]
    seen = {i for u, i in pairs_drawn if u == 3}
    assert seen == own[3]


def test_user_sampling_trains_and_an_unknown_scheme_is_refused():
    inputs, split, model = _setup()
    res = fit(model, inputs, split, dataclasses.replace(FAST, sampling="users"))
    assert res.epochs_run == 2 and np.isfinite(res.history[-1]["loss"])
    with pytest.raises(ValueError, match="sampling"):
        fit(model, inputs, split, dataclasses.replace(FAST, sampling="items"))


def test_unset_batch_size_is_the_models_own_and_train_model_records_it(monkeypatch):
    from core.models.bprmf import BPRMF
    from core.store.training import train_model

    monkeypatch.setattr(BPRMF, "default_batch_size", 7)
    inputs, split, model = _setup()

    class Count(Callback):
        batches = 0

        def on_batch_end(self, batch, loss):
            Count.batches += 1

    cfg = dataclasses.replace(FAST, epochs=1, batch_size=None)
    fit(model, inputs, split, cfg, [Count()])
    assert Count.batches == int(np.ceil(len(inputs.train) / 7))
    trained = train_model(tiny_dataset(), "bprmf", train_config=cfg, split=split)
    assert trained.meta["train_config"]["batch_size"] == 7


def _run_rule(scores: list[float], patience: int, window: int) -> tuple[int, int]:
    """Feed validation scores to the trainer's early-stopping rule; (evaluations run, best)."""
    from core.train.trainer import TrainResult, _Best

    best = _Best(torch.nn.Linear(1, 1), TrainResult(), window)
    for epoch, score in enumerate(scores, 1):
        best.update(epoch, {}, score, 0.0, "ndcg@20")
        if best.waited >= patience:
            return epoch, best.result.best_epoch
    return len(scores), best.result.best_epoch


def test_smoothed_patience_waits_out_one_lucky_evaluation():
    # a rising curve with one lucky evaluation (2) and noise of about +-0.01 around its trend
    scores = [0.200, 0.262, 0.221, 0.233, 0.244, 0.252, 0.243, 0.261]
    scores += [0.272, 0.263, 0.281, 0.270, 0.274, 0.268, 0.271, 0.269]
    # the raw rule (window 1): the lucky record is not beaten for 3 evaluations: stop at 5,
    # keeping evaluation 2 although the curve goes on rising
    assert _run_rule(scores, patience=3, window=1) == (5, 2)
    # the mean of the last 3 keeps setting records while the curve rises (last at 13) and stops
    # 3 evaluations into the plateau, keeping the best single evaluation (11)
    assert _run_rule(scores, patience=3, window=3) == (16, 11)


def test_smoothed_score_and_window_checks():
    from core.train.trainer import TrainResult, _Best, smoothed_score

    assert smoothed_score([0.1, 0.2, 0.3, 0.6], 2) == pytest.approx(0.45)
    assert smoothed_score([0.3], 5) == pytest.approx(0.3)  # fewer than the window: their mean
    with pytest.raises(ValueError, match="smooth_window"):
        _Best(torch.nn.Linear(1, 1), TrainResult(), 0)
