"""One DeletionCurve type: the dashboard's curve (core.explain.quality) is the benchmark's
(core.explain.fidelity), the same record with the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api, fidelity, quality
from core.explain.fidelity import DeletionCurve


def test_the_dashboard_and_the_benchmark_share_one_deletion_curve(toy_ctx):
    assert quality.DeletionCurve is DeletionCurve
    expl = api.explain(toy_ctx, 0, 1, "attention")
    shown = quality.deletion_curve(toy_ctx, expl, max_m=1, draws=4, seed=3)
    measured = fidelity.deletion_curve(toy_ctx, expl, 1, 4, np.random.default_rng(3))
    assert isinstance(shown, DeletionCurve) and shown == measured
    assert shown.ranks == (1, 3) and all(isinstance(r, int) for r in shown.ranks)
    assert shown.draws == 4 and shown.variant == str(toy_ctx.rescoring)
    assert shown.n_candidates == toy_ctx.n_items - len(toy_ctx.seen(0))
    assert 0 < shown.auc() < 1


def test_a_hand_made_curve_needs_its_candidates_only_for_the_auc():
    curve = DeletionCurve((1, 2, 4, 9), (1.0, 1.0, 2.0, 3.0), 2)
    assert curve.ratio() == curve.ratio(3) == pytest.approx(4.0)
    assert curve.drop(3) == 8 and curve.random_drop(3) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="n_candidates"):
        curve.auc()
    assert DeletionCurve(curve.ranks, curve.random_ranks, 2, n_candidates=9).auc() == (
        pytest.approx(np.trapz([1, 8 / 9, 6 / 9, 1 / 9]) / 3)
    )
