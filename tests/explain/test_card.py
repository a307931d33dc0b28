"""The complete card: one call gives the explanation, its deletion curve with the ratio to
random, and the counterfactual, labelled with the re-scoring variant; part by part, the same
parts come lazily, re-scoring last, as the dashboard draws them."""

from __future__ import annotations

import pytest

from core.explain import api, quality
from core.explain.card import PARTS, RESCORING, card_parts, explain_card, primary_method
from tests.explain.test_refit_cf import _ctx


@pytest.mark.parametrize(
    ("name", "method"),
    [("lightgcn", "edges"), ("kgat", "paths"), ("bprmf", "influence"), ("mostpop", "popularity")],
)
def test_card_has_every_part(name, method):
    ctx = _ctx(name, steps=10)
    assert primary_method(ctx) == method
    user = 5  # four training items: more than the 3 removals asked for below
    item = int(ctx.top_k(user, 1)[0])
    card = explain_card(ctx, user, item, k=3, deletion_m=3)
    assert card.explanation.method == method and card.explanation.sentence
    assert card.counterfactual is not None and card.counterfactual.method == "counterfactual"
    assert set(card.timings_ms) == {"explanation", "deletion", "counterfactual"}
    curve = card.deletion
    assert curve is not None and len(curve.ranks) == 4
    assert card.variant == curve.variant == ("refit" if name != "mostpop" else "inference")
    if name == "mostpop":  # popularity does not depend on the history: nothing moves
        assert curve.ranks == (curve.ranks[0],) * 4 and curve.random_ranks[1:] == curve.ranks[1:]


def test_card_paths_have_readable_shares():
    ctx = _ctx("kgat", steps=10)
    card = explain_card(ctx, 5, int(ctx.top_k(5, 1)[0]), k=3, deletion_m=3)
    shares = [card.explanation.share_of_score(p) for p in card.explanation.paths]
    assert shares and all(0 < s <= 1 for s in shares)
    assert sum(shares) <= 1 + 1e-9


def test_card_parts_come_in_order_and_re_score_only_when_asked(monkeypatch):
    """The dashboard draws the explanation's graph, paths and heatmap before the re-scoring
    parts are computed: the generator re-fits nothing until they are asked for."""
    ctx = _ctx("lightgcn", steps=10)
    calls = []
    real = ctx.model.refit_histories
    monkeypatch.setattr(
        ctx.model, "refit_histories", lambda *a: calls.append(len(a[1])) or real(*a)
    )
    parts = card_parts(ctx, 5, int(ctx.top_k(5, 1)[0]), k=3)
    first = next(parts)
    assert first.name == "explanation" and first.value.method == "edges" and calls == []
    rest = list(parts)
    assert (first.name, *(p.name for p in rest)) == PARTS and RESCORING == PARTS[1:]
    # the deletion curve the dashboard shows: m = 0..3, two random sets per m, plus the anchor
    assert calls[0] == 4 + 3 * 2 + 1 and len(calls) > 1  # then the counterfactual's search


def test_the_cli_card_measures_what_the_dashboard_shows():
    """explain_card's defaults are the dashboard's: its curve is quality.deletion_curve's (the
    card's chart) and its counterfactual the counterfactual explainer's, number for number."""
    ctx = _ctx("kgat", steps=10)
    user = 5
    item = int(ctx.top_k(user, 1)[0])
    card = explain_card(ctx, user, item, k=3)
    expl = api.explain(ctx, user, item, "paths", 3)
    assert card.explanation.digest() == expl.digest()
    assert card.deletion == quality.deletion_curve(ctx, expl)
    assert card.deletion.ranks[0] == 1 and len(card.deletion.ranks) == 4
    alone = api.explain(ctx, user, item, "counterfactual", 3)
    assert card.counterfactual.digest() == alone.digest()


def test_a_counterfactual_card_reuses_its_explanation_and_draws_no_curve():
    ctx = _ctx("bprmf", steps=10)
    item = int(ctx.top_k(5, 1)[0])
    card = explain_card(ctx, 5, item, k=3, method="counterfactual")
    assert card.counterfactual is card.explanation and card.deletion is None


@pytest.mark.parametrize(("name", "method"), [("lightgcn", "edges"), ("kgat", "paths")])
def test_the_card_does_its_edge_attribution_once(name, method, monkeypatch):
    """The counterfactual search is ordered by the attribution the explanation already holds
    (KGAT's attributed paths, LightGCN's edges): one backward pass per card, not two (the
    second cost about 0.3 s per amazon-book LightGCN card), and the same counterfactual as the
    standalone explainer, which computes its own."""
    from core.explain import edges

    ctx = _ctx(name, steps=10)
    user = 5
    item = int(ctx.top_k(user, 1)[0])
    alone = api.explain(ctx, user, item, "counterfactual", k=3)
    calls = []
    real = edges.attribution
    monkeypatch.setattr(edges, "attribution", lambda *a: calls.append(a[1:]) or real(*a))
    card = explain_card(ctx, user, item, k=3)
    assert card.explanation.method == method and calls == [(user, item)]
    assert card.counterfactual.extra["attribution"] == alone.extra["attribution"] == "edges"
    assert card.counterfactual.contributions == alone.contributions
    assert card.counterfactual.counterfactual == alone.counterfactual
