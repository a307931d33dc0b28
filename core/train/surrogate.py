"""Fit a RecLens model as a surrogate of a black box that can only dump its top-k lists.

The surrogate is an ordinary LightGCN or KGAT built on the dataset's training interactions (the
users' histories are its input: its graph), trained to reproduce the
lists, by ranking distillation (Tang & Wang, KDD 2018): each listed (user, item) is a positive
against items the user's list does not hold, with the model's own BPR loss; items near the top of
a list are drawn more often (`top_repeat`), and the histories themselves are positives too
(`history_weight`), which is all a held-out user contributes. The users with lists are cut into
three seeded parts: the lists of the first are fitted, the second's top-k lists pick the epoch
(recall@k on them is their overlap@k), and the third's measure the agreement reported. Users of
the held-out parts are scored only through their histories, as a new user of the black box would
be; the agreement on them is therefore what the surrogate reproduces, not what it memorised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from core.data import DataError, Split
from core.eval.agreement import Agreement, agreement
from core.models.base import ModelInputs, Recommender
from core.models.registry import build_model
from core.train.trainer import Callback, TrainConfig, TrainResult, fit

SURROGATES = ("lightgcn", "kgat")
# model settings a surrogate starts from (then `overrides`), chosen on validation overlap@10 of
# RecBole LightGCN's ml100k-kg lists (94 users): KGAT's library reg 1e-2 on the final
# embeddings held it at 0.654 (patience 20); 1e-4 gave 0.690, 1e-5 0.701 (RESULTS.md, issue 25)
MODEL_SETTINGS: dict[str, dict] = {"kgat": {"reg": 1e-5}}
MIN_USERS = 10  # listed users needed: at least one each to fit, pick the epoch and measure


@dataclass(frozen=True)
class SurrogateConfig:
    model: str = "lightgcn"  # "lightgcn" or "kgat"
    k: int = 10  # agreement is measured (and the epoch picked) at this list length
    holdout: tuple[float, float] = (0.1, 0.1)  # shares of listed users for picking and measuring
    # list items ranked within the top k count this many times per epoch, and each history pair
    # this many times (it trains the held-out users' own vectors on what the black box saw of
    # them). Both chosen on validation overlap@10 (RecBole LightGCN's ml-100k lists, 94 users,
    # 15 settings in benchmarks/RESULTS.md, issue 25): repeat 2 alone 0.888; histories 1 with
    # repeat 4 / 8 / 16: 0.906 / 0.930 / 0.921; histories 2 with repeat 8: 0.915
    top_repeat: int = 8
    epochs: int = 300  # upper bound; validation overlap@k stops it earlier
    patience: int = 10  # evaluations without improvement before stopping
    batch_size: int | None = None  # list pairs per step; None: the model's default
    lr: float | None = None  # Adam rate; None: the model's default
    history_weight: int = 1  # see top_repeat
    seed: int = 2020  # seeds the user cut, the model's start, batches and negatives
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.model not in SURROGATES:
            raise ValueError(f"surrogate {self.model!r}: expected one of {', '.join(SURROGATES)}")


@dataclass
class Surrogate:
    """The fitted model (eval mode) and what the fit measured."""

    model: Recommender
    heldout: Agreement  # on users whose lists were never fitted nor used to pick the epoch
    fitted: Agreement  # on the users whose lists were fitted (in-sample)
    result: TrainResult
    users: dict[str, np.ndarray]  # "fit" / "valid" / "test": the cut of the listed users
    in_history: int  # listed items that are in their user's training history (ranked below)


def cut_users(users: np.ndarray, holdout: tuple[float, float], seed: int) -> dict[str, np.ndarray]:
    """A seeded permutation of `users` cut into fit / valid / test (each sorted); valid and
    test get at least one user each when there are three or more."""
    gen = np.random.default_rng(seed)
    perm = gen.permutation(np.asarray(users, dtype=np.int64))
    n = len(perm)
    n_valid = max(1, int(n * holdout[0])) if n >= 3 else 0
    n_test = max(1, int(n * holdout[1])) if n >= 3 else 0
    test, valid = perm[:n_test], perm[n_test : n_test + n_valid]
    return {
        "fit": np.sort(perm[n_test + n_valid :]),
        "valid": np.sort(valid),
        "test": np.sort(test),
    }


def fit_surrogate(
    inputs: ModelInputs,
    lists,
    config: SurrogateConfig | None = None,
    callbacks: tuple[Callback, ...] = (),
    overrides: dict | None = None,
) -> Surrogate:
    """Fit `config.model` to reproduce `lists` (core.data.toplists.TopLists) over `inputs`
    (the dataset's training interactions: the histories). overrides: model settings, on top
    of MODEL_SETTINGS."""
    cfg = config or SurrogateConfig()
    if len(lists.listed_users) < MIN_USERS:
        raise DataError(
            f"lists for {len(lists.listed_users)} users; a surrogate needs at least {MIN_USERS}, "
            "since some users' lists are held out to pick the epoch and to measure agreement",
            path=lists.path,
        )
    settings = {**MODEL_SETTINGS.get(cfg.model, {}), **(overrides or {})}
    model = build_model(cfg.model, inputs, settings, cfg.device)
    model.init_weights(torch.Generator().manual_seed(cfg.seed))
    users = cut_users(lists.listed_users, cfg.holdout, cfg.seed)
    targets = _distillation_pairs(lists, users["fit"], cfg)
    history = np.asarray(inputs.train, dtype=np.int64).reshape(-1, 2)
    targets = np.concatenate([targets] + [history] * cfg.history_weight)
    split = Split(
        train=np.asarray(inputs.train, dtype=np.int64),
        valid=lists.pairs(users["valid"], cfg.k),
        test=lists.pairs(users["test"], cfg.k),
        method="surrogate",
        seed=cfg.seed,
    )
    train_cfg = TrainConfig(
        epochs=cfg.epochs,
        patience=cfg.patience,
        monitor=f"recall@{cfg.k}",  # with the list's top k as the relevant set: overlap@k
        seed=cfg.seed,
        device=cfg.device,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
    )
    fit_inputs = dataclasses.replace(inputs, train=targets)
    result = fit(model, fit_inputs, split, train_cfg, callbacks)
    model.eval()
    with torch.no_grad():
        model.prepare_inference()
    train = np.asarray(inputs.train, dtype=np.int64)
    return Surrogate(
        model=model,
        heldout=agreement(model, lists, users["test"], train, cfg.k),
        fitted=agreement(model, lists, users["fit"], train, cfg.k),
        result=result,
        users=users,
        in_history=_in_history(lists, train, inputs.n_items),
    )


def _distillation_pairs(lists, users: np.ndarray, cfg: SurrogateConfig) -> np.ndarray:
    """The fitted users' list pairs, those within the top k repeated `top_repeat` times, so a
    list's head weighs more than its tail (a step form of ranking distillation's weights)."""
    every = lists.pairs(users)
    head = lists.pairs(users, cfg.k)
    return np.concatenate([every] + [head] * max(0, cfg.top_repeat - 1))


def _in_history(lists, train: np.ndarray, n_items: int) -> int:
    listed = lists.users * n_items + lists.items
    return int(np.isin(listed, train[:, 0] * n_items + train[:, 1]).sum())
