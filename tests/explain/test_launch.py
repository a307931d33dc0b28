"""A new item launched from its KG attributes, and who it would reach (issue 27)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.explain import card, launch
from core.explain.context import ExplainContext
from core.models.base import NotSupported
from core.models.launch import LaunchConfig

ROOT = Path(__file__).resolve().parents[2]
ATTRS = ["genre=Family", "directed_by=Mara Lindqvist", "studio=Starling Films"]


@pytest.fixture(scope="module")
def kgat_ctx() -> ExplainContext:
    folder = ROOT / "sample_data" / "models" / "kgat"
    if not folder.is_dir():
        pytest.skip("sample models are absent")
    return ExplainContext.from_artifact(folder)


@pytest.fixture(scope="module")
def launched(kgat_ctx):
    attrs = launch.parse_attributes(kgat_ctx, kgat_ctx.artifact.inputs, ATTRS)
    return launch.launch(kgat_ctx, "My <b>Film</b>", attrs, k=10)


def test_the_audience_is_who_gets_it_in_their_top_10(launched):
    ctx, item, aud = launched.ctx, launched.item, launched.audience
    assert item == 1500 and ctx.n_items == 1501 and ctx.entity_names[item] == "My <b>Film</b>"
    assert 0 < aud.count < ctx.n_users
    assert sum(q["reached"] for q in aud.quartiles) == aud.count
    inside, outside = int(aud.reached[0]), int(np.flatnonzero(aud.ranks > 10)[0])
    assert item in ctx.top_k(inside, 10).tolist()
    assert item not in ctx.top_k(outside, 10).tolist()
    assert aud.most_likely(1)[0] == aud.reached[0]  # the top score is inside the top-10


def test_an_audience_members_card_goes_through_the_shared_entities(launched, kgat_ctx):
    ctx, item = launched.ctx, launched.item
    user = int(launched.audience.reached[0])
    got = card.explain_card(ctx, user, item, 10)
    triples = launch.parse_attributes(kgat_ctx, kgat_ctx.artifact.inputs, ATTRS)
    assert (triples[:, 0] == -1).all()  # sample items are the heads of their triples
    attrs = {f"e:{e + 1}" for e in triples[:, 2]}  # entities shift up by one past the new item
    assert got.explanation.paths
    for path in got.explanation.paths:
        assert path.edges[-1].dst == f"i:{item}" and path.edges[-1].src in attrs
    assert got.counterfactual is not None


def test_the_shared_model_is_not_touched(kgat_ctx, launched):
    assert (
        kgat_ctx.n_items == 1500
        and kgat_ctx.model.node.weight.shape[0] == kgat_ctx.n_entities + kgat_ctx.n_users
    )
    assert launched.ctx.model is not kgat_ctx.model


def test_fitting_lowers_the_items_kg_distance(kgat_ctx):
    attrs = launch.parse_attributes(kgat_ctx, kgat_ctx.artifact.inputs, ATTRS)
    dist = {}
    for placement in ("neighbours", "fitted"):
        got = launch.launch(kgat_ctx, "x", attrs, config=LaunchConfig(placement=placement))
        model, triples = got.launched.model, torch.as_tensor(got.launched.triples)
        heads, tails = model.node.weight[triples[:, 0]], model.node.weight[triples[:, 2]]
        dist[placement] = float(model.triple_distance(heads, triples[:, 1], tails).mean())
    assert dist["fitted"] < dist["neighbours"]


def test_models_without_a_kg_refuse_and_bad_attributes_are_named(kgat_ctx):
    with pytest.raises(ValueError, match="no entity 'Nobody'"):
        launch.parse_attributes(kgat_ctx, kgat_ctx.artifact.inputs, ["directed_by=Nobody"])
    with pytest.raises(ValueError, match="RELATION one of"):
        launch.parse_attributes(kgat_ctx, kgat_ctx.artifact.inputs, ["colour=red"])
    bprmf = ExplainContext.from_artifact(ROOT / "sample_data" / "models" / "bprmf")
    attrs = launch.parse_attributes(bprmf, bprmf.artifact.inputs, ATTRS)
    with pytest.raises(NotSupported):
        launch.launch(bprmf, "x", attrs)
