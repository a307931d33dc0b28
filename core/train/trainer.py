"""One model-agnostic training loop: BPR triples, Adam, early stopping on validation NDCG@20.

The test pairs are never looked at here: without validation rows `fit` either trains a fixed
number of epochs (`TrainConfig.fixed_epochs`) or refuses to start, so no epoch is ever chosen on
test.

Nothing here knows about a particular model: the loss (including its L2 term) is `model.loss`,
and model-specific work between epochs (KGAT's KG phase, attention refresh) is
`model.on_epoch_end`. Progress is reported to callbacks, which the CLI turns into a tqdm bar and
the dashboard into `st.progress`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.data.errors import DataError
from core.eval.runner import evaluate
from core.models.base import ModelInputs, Recommender
from core.models.optim import clear_grads, step_all
from core.train.sampling import NegativeSampler

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (users, pos, neg)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 300  # upper bound (RecBole's default); early stopping usually ends sooner
    batch_size: int | None = None  # BPR triples per optimiser step; None: the model's default
    # "pairs": each epoch visits every training pair once, in random order (each user weighted by
    # activity). "users": each batch draws distinct users uniformly, then one of each user's
    # items, as KGAT's and NGCF's reference code do; an epoch is still ceil(pairs / batch) steps.
    # Metrics average over users, so "users" gives light users more weight (amazon-book:
    # Recall@20 0.094 vs 0.088 after 10 epochs, see benchmarks/RESULTS.md).
    sampling: str = "pairs"
    lr: float | None = None  # Adam learning rate; None: the model's `default_lr` (else 1e-3)
    patience: int = 20  # evaluations without improvement before stopping (0: never stop early)
    # "Improvement" for patience is a new record of the mean of the last `smooth_window`
    # validation scores, so one lucky evaluation on a noisy curve does not start the countdown
    # (1: the raw score, the rule before issue 25). The weights kept are still those of the best
    # single evaluation. The defaults (patience 20, window 5; before issue 25: 10 and 1) were
    # fixed on KGAT's validation curves on ml-100k (benchmarks/RUNLOG.md, issue 25).
    smooth_window: int = 5
    # True: train exactly `epochs` epochs and keep the last weights (validation, if any, is only
    # logged). The only way to train on a split without validation rows: selecting an epoch by
    # the test pairs would report a test figure chosen on test.
    fixed_epochs: bool = False
    eval_every: int = 1  # validate every this many epochs
    monitor: str = "ndcg@20"  # validation metric that picks the best epoch
    eval_batch_size: int = 1024  # users per full-ranking batch
    seed: int = 2020  # seeds model init, shuffling and negative sampling
    device: str = "cpu"  # "cpu", "cuda", "cuda:1" or "auto"
    split_method: str | None = None  # None: the data layer's default (given split if present)
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train / valid / test
    split_seed: int = 2020  # seed of the random split


def learning_rate(model: Recommender, config: TrainConfig) -> float:
    """The configured rate, or the model's own recommended one (models differ by 10x here)."""
    return config.lr if config.lr is not None else model.default_lr


def batch_size_of(model: Recommender, config: TrainConfig) -> int:
    """The configured batch size, or the model's own (`default_batch_size`, else 2048)."""
    return config.batch_size if config.batch_size is not None else model.default_batch_size


def resolve_device(name: str) -> torch.device:
    """The device for `name`: "auto" is CUDA when torch can use it, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Callback:
    """Progress hooks; subclass and override what you need. All default to doing nothing.

    `on_epoch_end` may return True to ask the trainer to stop after this epoch (a Stop button).
    """

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        """Called once before the first epoch."""

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Called after each optimiser step; `batch` counts from 1 within the epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch with its logs: loss, seconds, and val_<metric> when validated."""
        return None

    def on_train_end(self, result: TrainResult) -> None:
        """Called once after training, best weights already restored."""


@dataclass
class TrainResult:
    """What happened during `fit`. Epochs count from 1; best_epoch 0 means no epoch ran."""

    epochs_run: int = 0
    best_epoch: int = 0
    best_score: float = float("nan")
    monitor: str = ""  # e.g. "valid ndcg@20"
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_epoch: list[float] = field(default_factory=list)  # training only, not evaluation
    eval_seconds: list[float] = field(default_factory=list)
    train_seconds: float = 0.0  # wall time of the whole fit, evaluation included

    @property
    def mean_epoch_seconds(self) -> float:
        return float(np.mean(self.seconds_per_epoch)) if self.seconds_per_epoch else 0.0


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite (learning rate too high for this model)."""


class NoValidationSet(DataError):
    """Early stopping (or picking the best epoch) was asked for on a split without validation."""


def fit(
    model: Recommender,
    inputs: ModelInputs,
    split,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    loss_fn: LossFn | None = None,
) -> TrainResult:
    """Train `model` in place and restore its best weights by validation `config.monitor`.

    split: a core.data Split; only its train and valid pairs are used, never its test pairs.
    With `config.fixed_epochs` every epoch runs and the last weights are kept; otherwise a split
    without validation rows raises NoValidationSet. The model must already be on its device;
    everything else is moved there. Deterministic for a given seed and device.
    A model without trainable parameters (MostPop) returns at once with epochs_run = 0.
    loss_fn: what each step minimises instead of `model.loss` (same signature and value), e.g.
    a mini-batch block forward (core.train.minibatch) or a data-parallel shard (distributed).
    """
    start = time.perf_counter()
    result = TrainResult()
    if not model.is_trainable:
        return result
    has_valid = split.valid is not None and len(split.valid) > 0
    if not has_valid and not config.fixed_epochs:
        raise NoValidationSet(
            f"the split has no validation rows, so early stopping on {config.monitor} would have"
            " to watch the test rows; give the split validation rows (split ratios with a"
            " non-zero middle share), or train a fixed number of epochs"
            " (TrainConfig(fixed_epochs=True)), which keeps the last epoch"
        )
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(config.seed)
    model.on_train_begin(gen)
    loop = _Loop(model, inputs, split, config, device, gen, loss_fn)
    for cb in callbacks:
        cb.on_train_begin(config.epochs, loop.n_batches)
    best = _Best(model, result, config.smooth_window)
    for epoch in range(1, config.epochs + 1):
        logs = loop.run_epoch(epoch, callbacks)
        result.seconds_per_epoch.append(logs["seconds"])
        if has_valid and (epoch % config.eval_every == 0 or epoch == config.epochs):
            best.update(epoch, logs, *loop.validate(), config.monitor)
        result.history.append(logs)
        result.epochs_run = epoch
        stop_requested = any([bool(cb.on_epoch_end(epoch, logs)) for cb in callbacks])
        if stop_requested and has_valid and f"val_{config.monitor}" not in logs:
            best.update(epoch, logs, *loop.validate(), config.monitor)  # score the last epoch too
        patience_out = config.patience and best.waited >= config.patience
        if (patience_out and not config.fixed_epochs) or stop_requested:
            result.stopped_early = True
            break
    if config.fixed_epochs:
        result.best_epoch = result.epochs_run  # the last epoch's weights are the model's
        last = result.history[-1] if result.history else {}
        result.best_score = last.get(f"val_{config.monitor}", float("nan"))
        result.monitor = "fixed epochs (last kept)"
    else:
        best.restore()
        result.monitor = f"valid {config.monitor}"
    result.train_seconds = time.perf_counter() - start
    for cb in callbacks:
        cb.on_train_end(result)
    return result


def make_optimizers(model: Recommender, lr: float) -> list[torch.optim.Optimizer]:
    """Adam for dense parameters; SparseAdam ("lazy" Adam: moments of untouched rows wait) for
    the weights of `nn.Embedding(sparse=True)` modules, which produce row-sparse gradients."""
    sparse_ids = {
        id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding) and m.sparse
    }
    params = [p for p in model.parameters() if p.requires_grad]
    sparse = [p for p in params if id(p) in sparse_ids]
    dense = [p for p in params if id(p) not in sparse_ids]
    opts: list[torch.optim.Optimizer] = []
    if dense:
        opts.append(torch.optim.Adam(dense, lr=lr))
    if sparse:
        opts.append(torch.optim.SparseAdam(sparse, lr=lr))
    return opts


class _Best:
    """The best validation score so far and a copy of the weights (and buffers) that gave it,
    and the patience count: evaluations since the mean of the last `window` scores (`smoothed`)
    last set a record."""

    def __init__(self, model: Recommender, result: TrainResult, window: int = 1) -> None:
        if window < 1:
            raise ValueError(f"TrainConfig.smooth_window: expected >= 1, got {window}")
        self.model, self.result, self.window = model, result, window
        self.state: dict[str, torch.Tensor] | None = None
        self.scores: list[float] = []
        self.best_smoothed = -math.inf
        self.waited = 0  # evaluations since the smoothed score's last record

    def update(self, epoch: int, logs: dict, score: float, seconds: float, monitor: str) -> None:
        logs[f"val_{monitor}"] = score
        self.result.eval_seconds.append(seconds)
        if self.state is None or score > self.result.best_score:
            self.result.best_score, self.result.best_epoch = score, epoch
            self.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.scores.append(score)
        smoothed = smoothed_score(self.scores, self.window)
        if smoothed > self.best_smoothed:
            self.best_smoothed, self.waited = smoothed, 0
        else:
            self.waited += 1

    def restore(self) -> None:
        if self.state is not None:
            self.model.load_state_dict(self.state)


def smoothed_score(scores: Sequence[float], window: int) -> float:
    """The mean of the last `window` scores (of all of them while fewer have been seen)."""
    recent = scores[-window:]
    return float(sum(recent) / len(recent))


class _Loop:
    """The per-run state of `fit`: data on device, sampler, optimiser."""

    def __init__(self, model, inputs, split, config: TrainConfig, device, gen, loss_fn) -> None:
        self.model, self.split, self.config, self.gen = model, split, config, gen
        self.loss_fn = loss_fn or model.loss
        self.pairs = torch.as_tensor(np.asarray(inputs.train, dtype=np.int64), device=device)
        self.sampler = NegativeSampler(inputs.n_items, inputs.train, device)
        batch = batch_size_of(model, config)
        self.batches = _batch_source(config.sampling, self.pairs, inputs.n_users, batch)
        self.opts = make_optimizers(model, learning_rate(model, config))
        self.n_batches = math.ceil(len(self.pairs) / batch)

    def run_epoch(self, epoch: int, callbacks: Sequence[Callback]) -> dict[str, float]:
        t0 = time.perf_counter()
        self.model.train()
        total, seen = 0.0, 0
        for b, (users, pos) in enumerate(self.batches.epoch(self.gen)):
            neg = self.sampler.sample(users, self.gen)
            loss = self.loss_fn(users, pos, neg)
            clear_grads(self.opts)  # zero_grad(set_to_none=True) and step(), minus the
            loss.backward()  # per-call overhead of torch.optim (core/models/optim.py)
            step_all(self.opts)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDiverged(f"loss is {value} at epoch {epoch}, batch {b + 1}")
            total += value * len(users)
            seen += len(users)
            for cb in callbacks:
                cb.on_batch_end(b + 1, value)
        logs = {"epoch": float(epoch), "loss": total / max(1, seen)}
        logs.update({k: float(v) for k, v in self.model.on_epoch_end(epoch, self.gen).items()})
        logs["seconds"] = time.perf_counter() - t0
        return logs

    def validate(self) -> tuple[float, float]:
        """(monitored metric, seconds) on the validation pairs, with the train pairs masked."""
        res = evaluate(self.model, self.split.train, self.split.valid, **self._eval_kwargs())
        return res.metrics.get(self.config.monitor, float("nan")), res.seconds

    def _eval_kwargs(self) -> dict:
        k = int(self.config.monitor.split("@")[1])
        return {"ks": (k,), "batch_size": self.config.eval_batch_size, "beyond_accuracy": False}


class _PairBatches:
    """Every training pair once per epoch, shuffled."""

    def __init__(self, pairs: torch.Tensor, batch_size: int) -> None:
        self.pairs, self.batch_size = pairs, batch_size

    def epoch(self, gen: torch.Generator):
        order = torch.randperm(len(self.pairs), generator=gen).to(self.pairs.device)
        # the epoch's pairs shuffled once (one gather, not one per batch); batches are slices
        users, items = self.pairs[order].T.contiguous()
        for lo in range(0, len(order), self.batch_size):
            yield users[lo : lo + self.batch_size], items[lo : lo + self.batch_size]


class _UserBatches:
    """ceil(pairs / batch) batches of distinct, uniformly drawn users, one positive each."""

    def __init__(self, pairs: torch.Tensor, n_users: int, batch_size: int) -> None:
        self.items = pairs[torch.argsort(pairs[:, 0], stable=True), 1]  # grouped by user (CSR)
        counts = torch.bincount(pairs[:, 0], minlength=n_users)
        self.starts = torch.cumsum(counts, 0) - counts
        self.users = counts.nonzero().view(-1)  # users with training pairs
        self.counts = counts
        self.batch_size = min(batch_size, len(self.users))
        self.n_batches = math.ceil(len(pairs) / batch_size)

    def epoch(self, gen: torch.Generator):
        device = self.items.device
        for _ in range(self.n_batches):
            # distinct users: the first batch_size of a random permutation keys
            keys = torch.rand(len(self.users), generator=gen)
            pick = torch.topk(keys, self.batch_size, sorted=False).indices.to(device)
            users = self.users[pick]
            count = self.counts[users]
            offset = (torch.rand(len(users), generator=gen).to(device) * count).long()
            pos = self.items[self.starts[users] + torch.minimum(offset, count - 1)]
            yield users, pos


def _batch_source(sampling: str, pairs: torch.Tensor, n_users: int, batch_size: int):
    if sampling == "pairs":
        return _PairBatches(pairs, batch_size)
    if sampling == "users":
        return _UserBatches(pairs, n_users, batch_size)
    raise ValueError(f"TrainConfig.sampling: {sampling!r} is neither 'pairs' nor 'users'")
