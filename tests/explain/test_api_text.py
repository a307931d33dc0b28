"""Registry, API errors, and sentences that name only what the explanation holds."""

from __future__ import annotations

import json
import re

import pytest

from core.explain import api
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.registry import EXPLAINERS, supported_methods
from core.explain.text import names_list, relation_phrase
from core.models.base import NotSupported
from tests.explain.conftest import HOSTILE, PlainModel


def test_supported_methods_follow_capabilities(toy_ctx, kgat_ctx, inputs):
    assert supported_methods(toy_ctx.model) == ["attention", "paths", "counterfactual"]
    assert supported_methods(kgat_ctx) == ["attention", "paths", "counterfactual"]
    assert supported_methods(PlainModel(3, 5)) == []
    assert set(EXPLAINERS) == {
        *("attention", "paths", "edges", "counterfactual", "influence", "popularity")
    }


def test_unsupported_method_raises_not_supported(inputs):
    ctx = ExplainContext.build(PlainModel(3, 5), inputs)
    with pytest.raises(NotSupported, match="cannot explain by 'paths'"):
        api.explain(ctx, 0, 1, "paths")
    with pytest.raises(NotSupported, match="unknown explanation method"):
        api.explain(ctx, 0, 1, "magic")


@pytest.mark.parametrize("method", ["attention", "paths", "counterfactual"])
def test_every_explainer_returns_one_serialisable_type(kgat_ctx, method):
    expls = api.explain_top_k(kgat_ctx, 0, 3, method)
    assert [e.rank for e in expls] == [1, 2, 3]
    assert [e.item for e in expls] == [1, 3, 4]  # training items 0 and 2 are excluded
    for e in expls:
        assert isinstance(e, Explanation) and e.method == method
        json.dumps(e.to_dict())
        assert len(e.digest()) == 16


def _quoted(sentence: str) -> list[str]:
    return re.findall(r'"([^"]*)"', sentence)


@pytest.mark.parametrize("method", ["attention", "paths", "counterfactual"])
def test_sentences_name_only_names_in_the_explanation(kgat_ctx, method):
    for e in api.explain_top_k(kgat_ctx, 0, 3, method):
        known = {e.extra["item_name"]} | {c.name for c in e.contributions}
        if e.subgraph:
            known |= set(e.subgraph.nodes.values())
        if e.counterfactual:
            known |= set(e.counterfactual.removed_names)
        assert e.sentence
        for name in _quoted(e.sentence):
            assert name in known, (name, e.sentence)


def test_hostile_title_passes_through_unchanged(kgat_ctx):
    e = api.explain(kgat_ctx, 0, 3, "attention")
    names = {c.name for c in e.contributions} | set(e.subgraph.nodes.values())
    assert HOSTILE in names
    assert "&lt;" not in json.dumps(e.to_dict())


def test_text_helpers():
    assert names_list(["A"]) == '"A"'
    assert names_list(["A", "B", "C"]) == '"A", "B" and "C"'
    assert relation_phrase("~directed_by") == "directed by"
    assert relation_phrase("film.film.genre") == "genre"
    assert relation_phrase("http://rdf.freebase.com/ns/film.film.directed_by") == "directed by"
