"""The dashboard's card and the CLI's (`core.explain.card.explain_card`, what `python -m core
bench latency` times) are one: the app draws the parts core computes, nothing of its own."""

from __future__ import annotations

import pytest

from app import state, views
from app.sidebar import Selection
from core.data import load_dataset
from core.explain.card import explain_card
from core.store import workspace as core_ws

NOTE = "No set of up to 10 history items pushes it out of the top list."


@pytest.fixture(scope="module")
def kgat_card(tiny_env):
    ds = load_dataset(tiny_env.data)
    sel = Selection(str(tiny_env.data), ds, core_ws.models_for(tiny_env.workspace, ds), "kgat")
    key, path = sel.key(), sel.dataset_path
    user = 3
    item = int(state.top_k(key, path, user, 10)[0][0])
    expl = state.explanation(key, path, user, item, "paths", 10)
    shown = views.card_parts(sel, "kgat", user, item, "paths", 10, expl)
    return shown, explain_card(state.context(key, path), user, item, 10, "paths"), expl


def test_the_dashboard_card_is_the_cli_card(kgat_card):
    shown, cli, expl = kgat_card
    assert cli.explanation.digest() == expl.digest()
    measured = shown.measure()  # what the card draws after its pause
    assert measured.curve is not None and measured.curve == cli.deletion
    assert measured.counterfactual == cli.counterfactual.counterfactual
    assert measured.counterfactual_note == ("" if measured.counterfactual else NOTE)
