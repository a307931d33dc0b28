"""Counterfactuals and deletion curves on real models (tiny fixture): the re-fit variant by
default, one batched call per step, validity from an independent re-scoring that a wrong set
fails, and a non-empty explanation for every registered model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.explain import api, counterfactual, fidelity
from core.explain.context import ExplainContext
from core.explain.registry import supported_methods
from core.models.registry import MODELS, build_model
from tests.models.tiny import run_steps, tiny_inputs


def _ctx(name: str, steps: int = 30) -> ExplainContext:
    inputs = tiny_inputs()
    torch.manual_seed(0)
    over = {"dim": 8, **({"relation_dim": 8} if name in ("kgat", "transr") else {})}
    if name == "kgat":  # two layers of 8 with the default (bi-interaction) aggregator
        over["layer_dims"] = (8, 8)
    model = build_model(name, inputs, {} if name == "mostpop" else over)
    if model.is_trainable:
        run_steps(model, inputs, steps)
    model.eval()
    model.prepare_inference()
    return ExplainContext.build(model, inputs)


@pytest.fixture(scope="module")
def lightgcn_ctx() -> ExplainContext:
    return _ctx("lightgcn")


def _first_found(ctx: ExplainContext, k: int = 2):
    for user in range(ctx.n_users):
        for e in api.explain_top_k(ctx, user, k, "counterfactual"):
            if e.counterfactual is not None:
                return e
    raise AssertionError("no counterfactual found on the fixture")


def test_refit_is_the_default_and_is_recorded(lightgcn_ctx):
    assert lightgcn_ctx.rescoring == "refit"
    assert lightgcn_ctx.rescoring_variants() == ["refit", "inference"]
    e = _first_found(lightgcn_ctx)
    cf = e.counterfactual
    assert cf.variant == "refit" and e.extra["variant"] == "refit"
    assert cf.valid and cf.checked_rank == cf.new_rank > cf.k >= cf.baseline_rank
    assert "re-fitted" in e.sentence


def test_inference_variant_stays_available(lightgcn_ctx):
    e = api.explain(lightgcn_ctx, 5, 0, "counterfactual", k=2, variant="inference")
    assert e.extra["variant"] == "inference"
    if e.counterfactual is not None:
        assert e.counterfactual.variant == "inference"


def test_a_wrong_set_fails_the_independent_check(lightgcn_ctx):
    e = _first_found(lightgcn_ctx)
    user, item, k = e.user, e.item, e.counterfactual.k
    removed = {int(n.split(":")[1]) for n in e.counterfactual.removed}
    # a set that does not work: none of the found items (the item stays in the top-k)
    others = np.array([h for h in lightgcn_ctx.history(user) if h not in removed][:1])
    assert counterfactual.verify(lightgcn_ctx, user, item, others, k)[0] is False
    wrong = dataclasses.replace(
        e.counterfactual, removed=tuple(lightgcn_ctx.node(h) for h in others)
    )
    bad = dataclasses.replace(e, counterfactual=wrong)
    stats = fidelity.counterfactual_stats(lightgcn_ctx, [e, bad])
    assert stats["validity"] == pytest.approx(0.5)


def test_a_lying_fast_path_is_caught_by_the_check(monkeypatch):
    """If the batched path the search uses were wrong, `valid` would say so: the check does not
    re-run the search's code."""
    ctx = _ctx("lightgcn")
    user, item = 5, int(ctx.top_k(5, 1)[0])
    model = ctx.model
    real = model.refit_histories

    def lying(u, histories, items, config):
        out = real(u, histories, items, config)
        scores = out.scores.clone()
        if scores.shape[1] > item:  # the check only asks it for the re-fitted parameters
            scores[1:, item] = -1e9  # "any removal pushes the item to the bottom"
        return dataclasses.replace(out, scores=scores)

    monkeypatch.setattr(model, "refit_histories", lying)
    e = api.explain(ctx, user, item, "counterfactual", k=3)
    cf = e.counterfactual
    assert cf is not None and len(cf.removed) == 1  # the lie: any one item is enough
    assert cf.new_rank == ctx.n_items - len(ctx.seen(user))  # the lie: the very bottom
    assert cf.checked_rank < cf.new_rank  # the independent re-scoring disagrees
    assert not cf.valid and cf.checked_rank <= 3  # the item truly stays in the top-3


def test_deletion_curve_is_one_batched_call(lightgcn_ctx, monkeypatch):
    calls = []
    real = lightgcn_ctx.model.refit_histories
    monkeypatch.setattr(
        lightgcn_ctx.model, "refit_histories", lambda *a: calls.append(len(a[1])) or real(*a)
    )
    ctx = dataclasses.replace(lightgcn_ctx)
    expl = api.explain(ctx, 5, int(ctx.top_k(5, 1)[0]), "edges")
    curve = fidelity.deletion_curve(ctx, expl, max_m=3, random_draws=2)
    # m = 0..3 and two random sets per m = 1..3, plus the anchor (the full history), one call
    assert calls == [4 + 3 * 2 + 1]
    assert curve.variant == "refit" and len(curve.ranks) == 4
    assert curve.ranks[0] == pytest.approx(
        ctx.rank(5, ctx.scores_with_history(5, ctx.history(5)), expl.item)
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_offers_a_non_empty_explanation(name):
    ctx = _ctx(name, steps=5)
    methods = supported_methods(ctx)
    assert methods, name
    first = [m for m in methods if m != "counterfactual"] or methods
    e = api.explain(ctx, 0, int(ctx.top_k(0, 1)[0]), first[0])
    assert e.contributions and e.sentence, (name, first[0])


def test_bprmf_influence_ranks_items_like_the_refit_does():
    ctx = _ctx("bprmf", steps=60)
    user = 5
    item = int(ctx.top_k(user, 1)[0])
    hist = ctx.history(user)
    e = api.explain(ctx, user, item, "influence")
    influence = {
        int(c.id.split(":")[1]): c.weight for c in e.contributions if c.kind == "history_item"
    }
    # the actual score drop after re-fitting without each history item
    full = ctx.scores_with_history(user, hist)[item]
    actual = {h: full - ctx.scores_with_history(user, hist[hist != h])[item] for h in hist.tolist()}
    assert max(influence, key=influence.get) == max(actual, key=actual.get)


def test_mostpop_popularity_numbers():
    ctx = _ctx("mostpop")
    # tiny fixture: item 2 is chosen by users 0, 1 and 5; user 4 (items 0, 4) shares item 0
    # with user 0 and item 4 with user 2
    e = api.explain(ctx, 4, 2, "popularity")
    assert e.extra["popularity"] == 3
    assert e.extra["similar_users"] == 2 and e.extra["similar_chose"] == 1
    assert "3 of 6 users" in e.sentence and "1 of the 2 users" in e.sentence
    assert [c.id for c in e.contributions if c.kind == "history_item"] == ["i:0"]
    assert all(p.kind == "user-item-user-item" for p in e.paths) and e.paths


@pytest.mark.parametrize("name", ["bprmf", "lightgcn", "kgat", "transe", "transr"])
def test_anchored_refit_of_the_unedited_history_is_the_model_itself(name):
    """Anchored, re-fitting the full history leaves the learned parameters where they are, so
    the counterfactual's baseline is the model's own ranking (a plain re-fit drifts: the old
    search then found nothing for items the drift alone pushed out of the top-k)."""
    ctx = _ctx(name)
    assert ctx.refit.anchored
    for user in (0, 5):
        hist = ctx.history(user)
        scores, params = ctx.rescore(user, [hist, hist[1:]])
        np.testing.assert_allclose(scores[0], ctx.scores(user), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            ctx.reference_scores(user, hist, params=params[0]), ctx.scores(user), atol=1e-5
        )
        assert not np.allclose(scores[1], scores[0], atol=1e-4)  # an edit still moves the user


def test_unanchored_refit_drifts_from_the_model():
    """Why anchoring: the same re-fit without the tilt moves the unedited user (tiny fixture)."""
    base = _ctx("lightgcn")
    ctx = dataclasses.replace(base, refit=dataclasses.replace(base.refit, anchored=False))
    hist = ctx.history(5)
    assert not np.allclose(ctx.scores_with_history(5, hist), ctx.scores(5), atol=1e-3)
