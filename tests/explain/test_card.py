"""The complete card: one call gives the explanation, its deletion curve with the ratio to
random, and the counterfactual, labelled with the re-scoring variant."""

from __future__ import annotations

import pytest

from core.explain.card import explain_card, primary_method
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
