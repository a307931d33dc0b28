"""The dashboard's algorithms, now in core: heatmaps, what-if and the profile builder, readable
paths and shares, the per-explanation deletion curve. Hand-checked on the toy fixture (see
conftest: user 0 has items 0 and 2; item 1 is reached only through item 0, item 3 only through
item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api, cold, fidelity, heatmap, present, quality, whatif
from core.explain.base import Edge, Path
from core.models.base import NotSupported, can_rescore
from tests.explain.conftest import HOSTILE, PlainModel, toy_inputs


def test_kgat_heatmap_is_path_attention_per_history_item(kgat_ctx):
    m = heatmap.path_attention_matrix(kgat_ctx, 0, [1, 3])
    hist = list(kgat_ctx.history(0))
    assert hist == [0, 2]
    # item 1 is reached only through history item 0, item 3 only through item 2
    assert m[0].tolist() == [1.0, 0.0] and m[1].tolist() == [0.0, 1.0]


def test_heatmap_prefers_the_models_own_attention(kgat_ctx, inputs):
    from core.explain.context import ExplainContext
    from tests.explain.conftest import ToyKGAT

    # ToyKGAT has target attention too: an attention model shows that first
    assert heatmap.heatmap_data(kgat_ctx, 0, [1, 3]).kind == heatmap.KIND_ATTENTION

    class EdgeOnly(ToyKGAT):  # KGAT proper: KG attention, no target attention
        attention_weights = PlainModel.attention_weights

    ctx = ExplainContext.build(EdgeOnly(inputs), inputs)
    data = heatmap.heatmap_data(ctx, 0, [1, 3])
    assert data.kind == heatmap.KIND_PATHS and data.weights.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_path_heatmap_is_zero_without_paths(kgat_ctx):
    """No path from the history to the item: an all-zero row, not a division by zero."""
    ctx = kgat_ctx
    m = heatmap.path_attention_matrix(ctx, 1, [3])  # user 1 has items 0 and 1
    assert m.shape == (1, 2)
    assert np.all(m == 0)  # no KG or collaborative path from user 1's items to item 3


def test_heatmap_needs_attention_or_embeddings(inputs):
    from core.explain.context import ExplainContext

    ctx = ExplainContext.build(PlainModel(inputs.n_users, inputs.n_items), inputs)
    assert heatmap.heatmap_data(ctx, 0, [1]) is None
    with pytest.raises(NotSupported):
        heatmap.path_attention_matrix(ctx, 0, [1])


def test_heatmap_keeps_the_heaviest_columns_in_history_order(toy_ctx):
    data = heatmap.heatmap_data(toy_ctx, 0, [1, 3], max_cols=1)
    assert data.kind == heatmap.KIND_ATTENTION
    assert data.weights.shape == (2, 1) and len(data.history) == 1


def test_what_if_removing_the_decisive_item(toy_ctx):
    frame = whatif.what_if(toy_ctx, 0, [0], k=3)
    # without item 0 the mean embedding is item 2's: item 3 is now first, item 1 falls
    assert frame["item"].iat[0] == "3" and frame["old rank"].iat[0] == 2
    assert list(frame.columns) == ["new rank", "item", "title", "score", "old rank"]


def test_profile_scores_top_k_and_influence(toy_ctx, inputs):
    folded = cold.folded_context(toy_ctx, [2], inputs=inputs)
    items, scores = whatif.profile_top_k(folded, k=2)
    assert items.tolist() == [3, 4] and 2 not in items  # own items never recommended
    assert scores[0] == pytest.approx(1.1)
    folded = cold.folded_context(toy_ctx, [0, 2], inputs=inputs)
    infl = whatif.profile_influence(folded, [1, 3])
    # score of item 1 with {0, 2} is 0.6; without 0 it is 0 (mean = item 2), without 2 it is 1.2
    assert infl[0].tolist() == pytest.approx([0.6, -0.6])
    assert not folded.same_for_everyone


def test_profile_needs_rescoring(inputs):
    from core.explain.context import ExplainContext

    ctx = ExplainContext.build(PlainModel(inputs.n_users, inputs.n_items), inputs)
    assert not can_rescore(ctx.model)
    with pytest.raises(NotSupported):
        cold.folded_context(ctx, [1], inputs=inputs)


def test_search_titles(toy_ctx):
    assert whatif.search_titles(toy_ctx, "  ") == []
    assert whatif.search_titles(toy_ctx, "r") == [0, 2, 3, 4]  # case-insensitive
    assert whatif.search_titles(toy_ctx, "l") == [4, 1]  # "Lone Star" starts with it: first
    assert whatif.search_titles(toy_ctx, "l", limit=1) == [4]
    assert whatif.search_titles(toy_ctx, "river") == [3]
    assert whatif.search_titles(toy_ctx, "3") == [3]  # the raw id


def test_top_k_matrix(toy_ctx):
    lists = whatif.top_k_matrix(toy_ctx, [0, 1], 2)
    assert lists.shape == (2, 2) and lists[0, 0] == 1
    assert whatif.top_k_matrix(toy_ctx, [], 2).shape == (0, 2)


def test_path_text_uses_names_and_relation_words():
    p = Path(
        (
            Edge("u:0", "interacted", "i:0", 1.0),
            Edge("i:0", "film.film.directed_by", "e:5", 1.0),
            Edge("e:5", "~film.film.directed_by", "i:1", 1.0),
        ),
        1.0,
        "user-item-entity-item",
    )
    names = {"u:0": "user 7", "i:0": "Night Harbor (i0)", "e:5": HOSTILE, "i:1": "Blue Fields (i1)"}
    text = present.path_text(p, names.__getitem__)
    assert text == (
        f"user 7 —interacted→ Night Harbor (i0) —directed by→ {HOSTILE} ←directed by— "
        "Blue Fields (i1)"
    )


def test_path_shares_are_parts_of_all_paths(kgat_ctx):
    expl = api.explain(kgat_ctx, 0, 1, "paths")
    shares = present.path_shares(kgat_ctx, expl)
    assert len(shares) == len(expl.paths) == 2  # via Ann, and collaborative via user 1
    assert sum(shares) == pytest.approx(1.0)  # the two are every path there is
    assert all(0 < s <= 1 for s in shares)


def test_share_and_count_texts():
    assert present.share_text(0.42) == "42 %"
    assert present.share_text(0.031) == "3.1 %"
    assert present.share_text(0.00001) == "< 0.1 %"
    assert present.count_text(1, "edge") == "1 edge"
    assert present.count_text(3, "entity", "entities") == "3 entities"
    assert present.count_text(0, "hop") == "0 hops"


def test_deletion_curve_on_the_toy_model(toy_ctx):
    expl = api.explain(toy_ctx, 0, 1, "attention")
    assert quality.deletion_curve(toy_ctx, expl) is None  # history of 2 <= 3 removals
    curve = quality.deletion_curve(toy_ctx, expl, max_m=1, draws=4)
    # item 1 is the top-1; removing the top-weighted history item (item 0) drops it to rank 3
    assert curve.ranks == (1, 3)
    assert 1.0 <= curve.random_ranks[1] <= 3.0


def test_deletion_ratio():
    c = quality.DeletionCurve((1, 2, 4, 9), (1.0, 1.0, 2.0, 3.0), 2)
    assert c.ratio(3) == pytest.approx(4.0)
    assert quality.DeletionCurve((1, 1, 1, 2), (1.0,) * 4, 2).ratio(3) == float("inf")
    assert np.isnan(quality.DeletionCurve((1, 1, 1, 1), (1.0,) * 4, 2).ratio(3))


def test_fidelity_table_and_best_quality(toy_ctx):
    table = quality.fidelity_table(toy_ctx, drivers={0: {"e:5"}}, n_users=2, k=1)
    assert list(table.columns) == quality.QUALITY_COLUMNS
    assert "counterfactual" not in set(table["method"])
    best = quality.best_quality(table)
    assert set(best) == {"deletion ratio@3", "planted-driver recovery"}


def test_inputs_fixture_is_the_documented_one():
    assert toy_inputs().train.tolist()[:2] == [[0, 0], [0, 2]]


def test_dashboard_curve_is_one_batched_call_and_says_its_variant(toy_ctx, monkeypatch):
    """The card's curve re-scores every edited history in one call (not a loop of passes) and
    records which re-scoring produced it."""
    from core.explain import counterfactual

    calls = []
    real = counterfactual.ranks_without

    def counting(ctx, user, item, removals, variant=None):
        calls.append(len(removals))
        return real(ctx, user, item, removals, variant)

    monkeypatch.setattr(fidelity, "ranks_without", counting)  # the one deletion curve
    expl = api.explain(toy_ctx, 0, 1, "attention")
    curve = quality.deletion_curve(toy_ctx, expl, max_m=1, draws=4)
    assert calls == [1 + 1 + 4]
    assert curve.variant == str(toy_ctx.rescoring)
