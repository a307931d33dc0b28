"""Folding a new user in: a fresh user fitted on their items alone, everything else frozen.

The new user is user `n_users` of a grown copy of the model (`core.models.grow`), whose training
rows are the profile's items, so the copy's graphs carry the new user's edges as they would
after training. Then, by what the model has:
- per-user parameters and a re-fit (BPR-MF, LightGCN, KGAT, TransE/R): the new row starts from
  `FoldInConfig.start` (zero, or the mean of the trained users' rows) and is fitted by the re-fit
  machinery (core.models.refit: the model's own BPR loss over the profile, every other parameter
  frozen), not anchored: nothing trained describes this user;
- per-user parameters but no re-fit (the attention model): the row is zero and the model reads
  the profile through its attention over the history;
- no per-user parameters: the model reads the history, or (MostPop) gives everyone the same
  list, which `FoldedUser.method` says (found by comparing the new user's scores with user 0's).
No existing user's parameters are read except through the mean start, so the result depends on
the profile alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.models.base import ModelInputs, NotSupported, Recommender, model_device, supports
from core.models.grow import NewRow, grown_copy, with_user
from core.models.refit import RefitConfig

Method = Literal["refit", "history", "same-for-everyone"]


# The start chosen per model on validation NDCG@20 at n = 5 (held-out users' validation rows,
# benchmarks/cold_start.py, RESULTS.md "Cold start"), zero / mean: BPR-MF 0.0587 / 0.0566
# (sample), 0.1115 / 0.1084 (ml-100k); LightGCN 0.0692 / 0.0734, 0.1220 / 0.1182 (a tie: the
# sample's margin is the larger); KGAT 0.1083 / 0.1175 (sample), 0.1271 / 0.1281 (ml-100k,
# cut at 10 epochs); TransE 0.0452 / 0.0459,
# TransR 0.0296 / 0.0299 (sample). Models not listed start from zero.
STARTS: dict[str, str] = {
    "bprmf": "zero",
    "lightgcn": "mean",
    "kgat": "mean",
    "transe": "mean",
    "transr": "mean",
}


@dataclass(frozen=True)
class FoldInConfig:
    # start of the new user's row before the fit: "zero", "mean" (of the trained users' rows)
    # or None, the model's entry in STARTS (chosen on validation)
    start: Literal["zero", "mean"] | None = None
    steps: int = 50  # full-batch Adam steps of the fit (core.models.refit)
    lr: float = 0.05  # their learning rate
    max_negatives: int = 256  # negatives per profile item (all unseen items when fewer)
    seed: int = 0  # seed of the negative sample


@dataclass(frozen=True)
class FoldedUser:
    """A grown copy of a model holding one new user, ready for inference (never the original)."""

    model: Recommender
    inputs: ModelInputs  # the original inputs plus the new user's rows
    user: int  # the new user's id in `model` (= the original n_users)
    items: np.ndarray  # int64 [T] the profile, unique, in the order given
    method: Method


def profile_items(items: Sequence[int], n_items: int) -> np.ndarray:
    """Unique item ids in first-seen order, int64 [T]; ValueError for an empty profile or an id
    outside 0..n_items-1."""
    out = np.asarray(list(dict.fromkeys(int(i) for i in items)), dtype=np.int64)
    if len(out) == 0:
        raise ValueError("a profile needs at least one item")
    bad = out[(out < 0) | (out >= n_items)]
    if len(bad):
        raise ValueError(f"item id {int(bad[0])} is outside 0..{n_items - 1}")
    return out


def fold_in(
    model: Recommender,
    inputs: ModelInputs,
    items: Sequence[int],
    config: FoldInConfig = FoldInConfig(),
) -> FoldedUser:
    """Fold a user whose history is `items` (internal ids) into a copy of `model`."""
    profile = profile_items(items, inputs.n_items)
    grown_inputs = with_user(inputs, profile)
    user = inputs.n_users
    try:
        key, first = model.user_table()
    except NotSupported:
        copy = grown_copy(model, grown_inputs, [])
        folded = _ready(FoldedUser(copy, grown_inputs, user, profile, "history"))
        if _same_for_everyone(folded):
            folded = dataclasses.replace(folded, method="same-for-everyone")
        return folded
    table = model.state_dict()[key][first : first + inputs.n_users]
    fits = supports(model, "refit_histories")
    mean = (config.start or STARTS.get(model.name, "zero")) == "mean"
    start = table.mean(0) if fits and mean else torch.zeros_like(table[0])
    row = first + inputs.n_users
    copy = grown_copy(model, grown_inputs, [NewRow(key, row, start.unsqueeze(0))])
    if not fits:
        return _ready(FoldedUser(copy, grown_inputs, user, profile, "history"))
    refit = RefitConfig(
        steps=config.steps, lr=config.lr, max_negatives=config.max_negatives, seed=config.seed
    )
    device = model_device(copy)
    hist = torch.as_tensor(profile, device=device)
    got = copy.refit_histories(user, [hist], torch.zeros(1, dtype=torch.long, device=device), refit)
    with torch.no_grad():
        copy.state_dict()[key][row].copy_(got.params[0].reshape(start.shape))
    return _ready(FoldedUser(copy, grown_inputs, user, profile, "refit"))


@torch.no_grad()
def _same_for_everyone(folded: FoldedUser) -> bool:
    """Whether the new user's scores are user 0's, though their histories differ."""
    train = np.asarray(folded.inputs.train).reshape(-1, 2)
    if set(train[train[:, 0] == 0, 1].tolist()) == set(folded.items.tolist()):
        return False  # the same history: equal scores would say nothing
    users = torch.tensor([0, folded.user], device=model_device(folded.model))
    scores = folded.model.score(users)
    return bool(torch.allclose(scores[0], scores[1]))


def _ready(folded: FoldedUser) -> FoldedUser:
    folded.model.train()  # drops caches built from the row before the fit
    folded.model.eval()
    with torch.no_grad():
        folded.model.prepare_inference()
    return folded
