"""Fidelity measurement on the tiny graph, where the right numbers can be worked out."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api, fidelity
from core.explain.fidelity import FidelityConfig


def test_history_ranking_puts_heaviest_first(toy_ctx):
    e = api.explain(toy_ctx, 0, 1, "attention")
    assert fidelity.history_ranking(e, toy_ctx.history(0)).tolist() == [0, 2]


def test_deletion_drop_of_the_decisive_item(toy_ctx):
    e = api.explain(toy_ctx, 0, 1, "attention")
    res = fidelity.deletion_test(toy_ctx, [e], FidelityConfig(ms=(1,), random_draws=50))
    # removing item 0 takes item 1 from rank 1 to 3; removing item 2 leaves it at 1
    assert res["drop@1"] == pytest.approx(2.0)
    assert 0.5 < res["random_drop@1"] < 1.5  # half the random draws pick item 0
    assert res["ratio@1"] > 1.3
    assert 0 < res["auc"] < 1


def test_counterfactual_stats_are_verified(toy_ctx):
    expls = api.explain_top_k(toy_ctx, 0, 1, "counterfactual")
    stats = fidelity.counterfactual_stats(toy_ctx, expls)
    assert stats == {
        "n": 1,
        "variant": "inference",
        "valid_within_5": 1.0,
        "found_rate": 1.0,
        "validity": 1.0,
        "baseline_in_top_k": 1.0,
        "mean_size": 1.0,
        "found_within_5": 1.0,
    }


def test_planted_recovery_and_random_baseline(kgat_ctx):
    expls = [api.explain(kgat_ctx, 0, 1, "paths")]
    assert fidelity.planted_recovery(expls, {0: {"e:5"}})["recovery"] == 1.0
    assert fidelity.planted_recovery(expls, {0: {"e:6"}})["recovery"] == 0.0
    # Ann is the only entity in the subgraph, so a random pick finds her too
    assert fidelity.planted_recovery(expls, {0: {"e:5"}})["random"] == 1.0
    # Ann links history item 0 to item 1; the genre links item 2 to item 3, not to item 1
    assert fidelity.planted_recovery(expls, {0: {"e:5"}}, ctx=kgat_ctx)["ceiling"] == 1.0
    assert fidelity.planted_recovery(expls, {0: {"e:6"}}, ctx=kgat_ctx)["ceiling"] == 0.0


def test_planted_ceiling_is_the_share_of_the_top_k_a_driver_path_reaches(kgat_ctx):
    top = kgat_ctx.top_k(0, 3).tolist()
    expls = api.explain_top_k(kgat_ctx, 0, 3, "paths")
    for drivers in ({0: {"e:5"}}, {0: {"e:6"}}, {0: {"e:5", "e:6"}}):
        ceiling = fidelity.planted_recovery(expls, drivers, ctx=kgat_ctx)["ceiling"]
        assert fidelity.planted_ceiling(kgat_ctx, drivers, [0], 3) == ceiling
    # only item 1 of the top-3 shares Ann with a history item
    assert fidelity.planted_ceiling(kgat_ctx, {0: {"e:5"}}, [0], 3) == pytest.approx((1 in top) / 3)
    assert np.isnan(fidelity.planted_ceiling(kgat_ctx, {}, [0], 3))  # user 0 has no drivers


def test_path_quality(kgat_ctx):
    expls = api.explain_top_k(kgat_ctx, 0, 3, "paths")  # items 1 and 3 have paths, 4 has none
    q = fidelity.path_quality(expls)
    assert q["explainability"] == pytest.approx(2 / 3)
    assert q["mean_length"] == pytest.approx(3.0)
    assert q["kinds"]["user-item-entity-item"] == pytest.approx(2 / 3)
    assert 0 < q["diversity"] < 1


def test_run_and_table(kgat_ctx):
    res = fidelity.run(kgat_ctx, FidelityConfig(n_users=2, k=2, ms=(1,)), {0: {"e:5"}})
    assert set(res) == {"attention", "paths", "counterfactual"}
    assert res["counterfactual"]["counterfactual"]["validity"] in (1.0,) or np.isnan(
        res["counterfactual"]["counterfactual"]["validity"]
    )
    text = fidelity.table(res, ms=(1,))
    assert text.count("\n") == 4 and "| paths |" in text
