"""A new user folded in from their items alone (issue 27), on the bundled sample models.

The profile builder used to score a made-up profile as an existing "base" user (u0001) with that
history: LightGCN's top-10 for one 3-item profile shared nothing between base users 0 and 5. A
folded-in user reads no existing user's row, so relabelling which trained user is which cannot
change the new user's list.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from core.explain import card, cold, whatif
from core.explain.ckg import build_ckg
from core.explain.context import ExplainContext
from core.models.foldin import FoldInConfig
from core.models.grow import grown_copy

ROOT = Path(__file__).resolve().parents[2]
PROFILE = [3, 17, 42]


@pytest.fixture(scope="module")
def contexts():
    return {}


def sample_ctx(contexts, name: str) -> ExplainContext:
    if name not in contexts:
        folder = ROOT / "sample_data" / "models" / name
        if not folder.is_dir():
            pytest.skip(f"{folder} is absent")
        contexts[name] = ExplainContext.from_artifact(folder)
    return contexts[name]


def swapped(ctx: ExplainContext, a: int, b: int):
    """The same trained model with users a and b relabelled (their rows and their training
    rows swapped): what scoring the profile "as user a" or "as user b" would tell apart."""
    inputs = cold.model_inputs(ctx)
    train = inputs.train.copy()
    ua, ub = train[:, 0] == a, train[:, 0] == b
    train[ua, 0], train[ub, 0] = b, a
    inputs = dataclasses.replace(inputs, train=train)
    model = grown_copy(ctx.model, inputs, [])
    key, first = model.user_table()
    with torch.no_grad():
        table = model.state_dict()[key]
        table[[first + a, first + b]] = table[[first + b, first + a]].clone()
    model.prepare_inference()
    return ExplainContext.build(model, inputs), inputs


@pytest.mark.parametrize("start", ["zero", "mean"])
@pytest.mark.parametrize("name", ["bprmf", "lightgcn", "kgat"])
def test_the_profile_alone_decides_the_new_users_list(contexts, name, start):
    ctx, config = sample_ctx(contexts, name), FoldInConfig(start=start)
    first = cold.folded_context(ctx, PROFILE, config)
    ctx_b, inputs_b = swapped(ctx, 0, 5)
    second = cold.folded_context(ctx_b, PROFILE, config, inputs=inputs_b)
    items_a, scores_a = whatif.profile_top_k(first, 10)
    items_b, scores_b = whatif.profile_top_k(second, 10)
    assert first.folded.method == "refit"
    assert items_a.tolist() == items_b.tolist()
    np.testing.assert_allclose(scores_a, scores_b, rtol=1e-4, atol=1e-4)
    # the relabelling is real: trained user 0's own list did change
    assert ctx.top_k(0, 10).tolist() != ctx_b.top_k(0, 10).tolist()


def test_the_new_users_list_follows_the_profile(contexts):
    ctx = sample_ctx(contexts, "lightgcn")
    a = whatif.profile_top_k(cold.folded_context(ctx, PROFILE), 10)[0]
    b = whatif.profile_top_k(cold.folded_context(ctx, [100, 200, 300]), 10)[0]
    assert a.tolist() != b.tolist()
    assert not set(PROFILE) & set(a.tolist())  # the profile's items are never recommended


def test_mostpop_is_the_same_for_everyone_and_says_so(contexts):
    folded = cold.folded_context(sample_ctx(contexts, "mostpop"), PROFILE)
    assert folded.same_for_everyone
    attention = cold.folded_context(sample_ctx(contexts, "attention"), PROFILE)
    assert attention.folded.method == "history" and not attention.same_for_everyone


def test_folding_in_leaves_the_shared_model_alone(contexts):
    ctx = sample_ctx(contexts, "kgat")
    before = {k: v.clone() for k, v in ctx.model.state_dict().items()}
    scores = ctx.scores(7)
    cold.folded_context(ctx, PROFILE)
    after = ctx.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(ctx.scores(7), scores)


@pytest.mark.parametrize("name", ["bprmf", "lightgcn", "kgat", "attention"])
def test_a_folded_in_user_gets_a_whole_card(contexts, name):
    profile = [3, 17, 42, 100, 200, 300]
    folded = cold.folded_context(sample_ctx(contexts, name), profile)
    items, _ = whatif.profile_top_k(folded, 10)
    got = card.explain_card(folded.ctx, folded.user, int(items[0]), 10)
    assert got.explanation.user == folded.user and got.explanation.rank == 1
    assert got.explanation.extra["user_name"] == cold.NEW_USER
    assert got.deletion is not None  # re-scored: the profile minus its top items
    assert got.counterfactual is not None  # searched over the profile
    found = got.counterfactual.counterfactual
    if found is not None:  # it removes profile items only
        assert set(found.removed) <= {f"i:{i}" for i in profile}
    infl = whatif.profile_influence(folded, items[:3])
    assert infl.shape == (3, len(profile)) and np.isfinite(infl).all()


def test_the_grown_ckg_is_the_one_built_afresh(contexts):
    ctx = sample_ctx(contexts, "kgat")
    folded = cold.folded_context(ctx, PROFILE)
    fresh = build_ckg(folded.folded.inputs)
    got = folded.ctx.ckg
    for field in ("src", "dst", "rel", "reverse", "key_order", "sorted_keys"):
        np.testing.assert_array_equal(getattr(got, field), getattr(fresh, field), err_msg=field)
    for csr in ("out", "inc"):
        np.testing.assert_array_equal(getattr(got, csr).ptr, getattr(fresh, csr).ptr)
        np.testing.assert_array_equal(getattr(got, csr).eids, getattr(fresh, csr).eids)
    # and the grown context's histories are those of a context built afresh
    own = np.stack([np.full(len(PROFILE), folded.user), PROFILE], 1)
    built = ExplainContext.build(
        folded.folded.model, folded.folded.inputs, seen=np.concatenate([cold.seen_pairs(ctx), own])
    )
    for field in ("history_ptr", "history_items", "seen_ptr", "seen_items"):
        np.testing.assert_array_equal(getattr(folded.ctx, field), getattr(built, field))
    np.testing.assert_array_equal(folded.ctx.edge_attention, built.edge_attention)
