"""One name per capability: `can_rescore` answers "can this model re-score an edited history?"
everywhere (counterfactual, deletion curve, what-if, profile builder), from the declarations,
once per model class."""

from __future__ import annotations

import pytest

from core.explain import counterfactual
from core.explain.registry import supported_methods
from core.models import base
from core.models.base import RESCORING, can_rescore, supports
from core.models.registry import MODELS, build_model
from tests.models.tiny import tiny_inputs


@pytest.mark.parametrize("name", sorted(MODELS))
def test_can_rescore_is_what_the_declarations_and_the_registry_say(name):
    model = build_model(name, tiny_inputs())
    declared = any(getattr(type(model), c) is not getattr(base.Recommender, c) for c in RESCORING)
    assert can_rescore(model) == declared == counterfactual.supports(model)
    assert ("counterfactual" in supported_methods(model)) == declared


def test_capabilities_are_computed_once_per_model_class():
    model = build_model("bprmf", tiny_inputs(), {"dim": 8})
    base._declares.cache_clear()
    supports(model, "score_with_histories")
    can_rescore(model)
    first = base._declares.cache_info().misses
    for _ in range(5):  # the same class again: every answer comes from the cache
        supports(model, "score_with_histories")
        can_rescore(build_model("bprmf", tiny_inputs(), {"dim": 8}))
    assert 0 < first <= len(RESCORING) and base._declares.cache_info().misses == first
