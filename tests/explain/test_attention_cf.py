"""Attention and counterfactual explainers: the one decisive history item is found."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.registry import supported_methods
from core.models.base import Recommender
from tests.explain.conftest import ENTITY_NAMES, ToyModel


def test_attention_weights_point_at_the_decisive_item(toy_ctx):
    expl = api.explain(toy_ctx, 0, 1, "attention")
    assert isinstance(expl, Explanation) and expl.method == "attention"
    hist = [c for c in expl.contributions if c.kind == "history_item"]
    assert [c.id for c in hist] == ["i:0", "i:2"]
    assert sum(c.weight for c in hist) == pytest.approx(1.0)
    assert hist[0].weight > 0.99  # softmax(5 * [1.2, 0])
    attrs = [c for c in expl.contributions if c.kind == "attribute_type"]
    assert [(c.name, round(c.weight, 3)) for c in attrs] == [("directed_by", 0.7), ("genre", 0.3)]
    assert expl.top_entities(1) == ["e:5"]  # Ann links the attended item 0 to item 1
    assert '"Night Harbor"' in expl.sentence


def test_attention_matrix_rows_are_candidates(toy_ctx):
    hist, mat = api.attention_matrix(toy_ctx, 0, [1, 3, 4])
    assert hist.tolist() == [0, 2]
    assert mat.shape == (3, 2)
    np.testing.assert_allclose(mat.sum(1), 1.0, rtol=1e-6)
    assert mat[0].argmax() == 0 and mat[1].argmax() == 1


def test_counterfactual_is_exactly_the_decisive_item(toy_ctx):
    expl = api.explain(toy_ctx, 0, 1, "counterfactual", k=1)
    assert expl.rank == 1
    cf = expl.counterfactual
    assert cf is not None and cf.valid
    assert cf.removed == ("i:0",) and cf.removed_names == ("Night Harbor",)
    assert cf.new_rank == 3  # mean of item 2 alone: item 3 (1.1) and item 4 (0.2) overtake
    assert cf.new_score == pytest.approx(0.0)
    assert "rank 3" in expl.sentence and '"Night Harbor"' in expl.sentence


def test_counterfactual_new_rank_is_verified_by_rescoring(toy_ctx):
    for expl in api.explain_top_k(toy_ctx, 0, 2, "counterfactual"):
        cf = expl.counterfactual
        if cf is None:
            continue
        removed = [int(n.split(":")[1]) for n in cf.removed]
        kept = np.setdiff1d(toy_ctx.history(0), removed)
        scores = toy_ctx.scores_with_history(0, kept)
        assert toy_ctx.rank(0, scores, expl.item) == cf.new_rank > cf.k


def test_counterfactual_not_found_is_reported(toy_ctx):
    # user 2 has one history item; removing it zeroes every score, so item ranks tie at 1
    expl = api.explain(toy_ctx, 2, 1, "counterfactual", k=4)
    assert expl.counterfactual is None
    assert "does not push" in expl.sentence


class MeanModel(Recommender):
    """ToyModel's scores and re-scoring only: no attention, embeddings or edge weights."""

    name = "mean"

    def __init__(self, inputs) -> None:
        super().__init__(inputs.n_users, inputs.n_items)
        self.toy = ToyModel(inputs)

    def score(self, users):
        return self.toy.score(users)

    def score_with_history(self, user, history, items):
        return self.toy.score_with_history(user, history, items)


def test_counterfactual_without_attribution_orders_by_path_count(inputs):
    ctx = ExplainContext.build(MeanModel(inputs), inputs, entity_names=ENTITY_NAMES)
    assert supported_methods(ctx) == ["counterfactual"]
    expl = api.explain(ctx, 0, 1, "counterfactual", k=1)
    assert expl.extra["attribution"] == "path count"
    # item 0 reaches item 1 by two paths (Ann; user 1), item 2 by none
    assert [(c.id, c.weight) for c in expl.contributions] == [("i:0", 1.0), ("i:2", 0.0)]
    assert expl.counterfactual.removed == ("i:0",) and expl.counterfactual.new_rank == 3


def test_not_found_is_settled_by_one_batched_rescoring(toy_ctx, monkeypatch):
    calls = []
    original = toy_ctx.model.score_with_histories
    monkeypatch.setattr(
        toy_ctx.model, "score_with_histories", lambda *a: calls.append(1) or original(*a)
    )
    # removing item 2 (the attended one) drops item 3 from rank 2 to 3: in a top-2, not a top-3
    found = api.explain(toy_ctx, 0, 3, "counterfactual", k=2, max_removals=1).counterfactual
    assert found.removed == ("i:2",) and found.new_rank == 3
    calls.clear()
    assert api.explain(toy_ctx, 0, 3, "counterfactual", k=3, max_removals=1).counterfactual is None
    assert len(calls) == 1
