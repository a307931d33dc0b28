"""Attention recommender: smoke test, leakage masking, history cap, weights for heatmaps."""

import numpy as np
import torch

from core.models.attention import Attention, AttentionConfig, item_attributes, user_histories
from tests.models.tiny import (
    check_contract,
    check_history_rescoring,
    run_steps,
    seen_items,
    tiny_inputs,
    trained_scores,
)

CPU = torch.device("cpu")


def _model(config: AttentionConfig | None = None) -> Attention:
    torch.manual_seed(0)
    return Attention.build(tiny_inputs(), config or AttentionConfig(), CPU)


def test_one_epoch_smoke_and_contract():
    check_contract(_model(), tiny_inputs())


def test_deterministic_given_seed():
    inputs = tiny_inputs()
    build = lambda: Attention.build(inputs, AttentionConfig(), CPU)  # noqa: E731
    assert torch.equal(trained_scores(build, inputs), trained_scores(build, inputs))


def test_histories_keep_the_most_recent_rows_in_order():
    train = np.array([[0, 5], [1, 2], [0, 6], [0, 7], [1, 3], [0, 8]])
    hist = user_histories(train, n_users=3, n=3, pad=99)
    assert hist.tolist() == [[6, 7, 8], [2, 3, 99], [99, 99, 99]]


def test_item_attributes_by_type_with_inverse_relations():
    # items 0, 1; entities 2 (genre), 3 (person); "directed" has the person as head
    kg = np.array([[0, 0, 2], [1, 0, 2], [3, 1, 1]])
    types, links = item_attributes(kg, 2, ("genre", "directed"), max_types=5)
    assert types == ("genre", "~directed")  # genre covers two items, ~directed one
    assert links.tolist() == [[0, 0, 2], [1, 0, 2], [1, 1, 3]]
    assert item_attributes(kg, 2, ("genre", "directed"), max_types=1)[0] == ("genre",)


def test_chunked_full_ranking_equals_unchunked():
    inputs = tiny_inputs()
    model = _model(AttentionConfig(user_chunk=2, item_chunk=3))
    run_steps(model, inputs, 3)
    model.eval()
    chunked = model.score(torch.arange(6))
    whole = Attention(inputs, AttentionConfig(user_chunk=64, item_chunk=512))
    whole.load_state_dict(model.state_dict())
    torch.testing.assert_close(whole.score(torch.arange(6)), chunked)


def test_weights_sum_to_one_and_mask_the_candidate_itself():
    inputs = tiny_inputs()
    model = _model()
    run_steps(model, inputs, 3)
    model.eval()
    history = seen_items(inputs)[5]  # items 2, 6, 7, 3
    items = torch.tensor([6, 0, 1])
    weights = model.attention_weights(5, items)
    assert weights.history.tolist() == history.tolist()
    assert weights.item_weights.shape == (3, 4)
    assert weights.attribute_types == ("genre", "director")
    assert weights.attribute_weights.shape == (3, 2)
    torch.testing.assert_close(weights.item_weights.sum(1), torch.ones(3))
    torch.testing.assert_close(weights.attribute_weights.sum(1), torch.ones(3))
    assert weights.item_weights[0, 1] == 0  # candidate 6 does not attend to itself


def test_positive_is_masked_out_of_its_own_history_in_training():
    model = _model()
    model.eval()
    user, pos, neg = torch.tensor([0]), torch.tensor([1]), torch.tensor([5])
    loss = model.loss(user, pos, neg)
    # the positive scores as if it were not in the history at all; the negative sees it all
    pos_score = model.score_with_history(0, torch.tensor([0, 2]), pos)
    neg_score = model.score_with_history(0, torch.tensor([0, 1, 2]), neg)
    torch.testing.assert_close(model.score_pairs(user, pos), pos_score)
    expected = -torch.nn.functional.logsigmoid(pos_score - neg_score)[0]
    reg = (
        model.config.reg
        * (
            model.user.weight[0].pow(2).sum()
            + model.item.weight[1].pow(2).sum()
            + model.item.weight[5].pow(2).sum()
        )
        / 2
    )
    torch.testing.assert_close(loss, expected + reg, atol=1e-5, rtol=1e-5)


def test_score_with_history_matches_full_history_and_changes_without_it():
    inputs = tiny_inputs()
    model = _model()
    run_steps(model, inputs, 5)
    model.eval()
    check_history_rescoring(model, inputs)
    items = torch.arange(inputs.n_items)
    empty = model.score_with_history(5, torch.tensor([], dtype=torch.long), items)
    assert torch.isfinite(empty).all()


def test_no_kg_still_trains():
    inputs = tiny_inputs()
    bare = type(inputs)(6, 8, 8, 0, inputs.train, np.zeros((0, 3), np.int64), ())
    torch.manual_seed(0)
    model = Attention.build(bare, AttentionConfig(), CPU)
    check_contract(model, bare)
    assert model.attention_weights(0, torch.tensor([3])).attribute_weights.shape == (1, 0)
