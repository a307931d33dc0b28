"""Full-ranking evaluation: masking, skipped users, batching, beyond-accuracy and quartiles."""

import math

import numpy as np
import pytest
import torch

from core.eval import runner
from core.eval.metrics import item_attribute_matrix
from core.eval.runner import evaluate
from core.models.base import Recommender


class FixedScores(Recommender):
    """Scores from a given matrix; counts prepare_inference calls to check the runner's protocol."""

    name = "fixed"

    def __init__(self, scores: torch.Tensor) -> None:
        super().__init__(*scores.shape)
        self.register_buffer("table", scores.float())
        self.prepared = 0

    def score(self, users):
        return self.table[users].clone()

    def prepare_inference(self):
        self.prepared += 1


# 3 users x 5 items; a higher score ranks first
SCORES = torch.tensor(
    [
        [5, 4, 3, 2, 1],
        [1, 2, 3, 4, 5],
        [3, 5, 1, 4, 2],
    ]
)
TRAIN = np.array([[0, 0], [1, 4], [2, 1], [2, 0]])
VALID = np.array([[0, 1]])
TEST = np.array([[0, 2], [0, 4], [1, 3]])  # user 2 has no test item: skipped


def test_masks_train_and_valid_and_skips_users_without_targets():
    model = FixedScores(SCORES)
    res = evaluate(model, TRAIN, TEST, valid=VALID, ks=(1, 2), beyond_accuracy=False)
    # user 0: items 0 (train) and 1 (valid) masked -> ranking 2, 3, 4 -> hit at rank 1
    # user 1: item 4 masked -> ranking 3, 2, 1, 0 -> hit at rank 1
    assert res.n_users == 2
    assert res.metrics["hit@1"] == pytest.approx(1.0)
    assert res.metrics["recall@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert res.metrics["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert model.prepared == 1


def test_without_valid_mask_the_valid_item_competes():
    res = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=(1,), beyond_accuracy=False)
    # user 0 now ranks item 1 first (a miss); user 1 unchanged
    assert res.metrics["hit@1"] == pytest.approx(0.5)


def test_batching_does_not_change_results():
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(50, 30, generator=gen)
    rng = np.random.default_rng(0)
    pairs = np.unique(np.stack([rng.integers(0, 50, 400), rng.integers(0, 30, 400)], 1), axis=0)
    rng.shuffle(pairs)
    train, test = pairs[:300], pairs[300:]
    attrs = item_attribute_matrix(
        30, np.stack([np.arange(30), np.zeros(30), 30 + np.arange(30) % 4], 1)
    )
    a = evaluate(FixedScores(scores), train, test, batch_size=7, item_attributes=attrs)
    b = evaluate(FixedScores(scores), train, test, batch_size=1024, item_attributes=attrs)
    assert a.metrics.keys() == b.metrics.keys()
    for name in a.metrics:
        assert a.metrics[name] == pytest.approx(b.metrics[name]), name
    assert {"coverage@20", "novelty@20", "diversity@20", "avg_popularity@20"} <= set(a.metrics)


def test_beyond_accuracy_values_on_tiny_case():
    model = FixedScores(SCORES)
    # k=2 lists: user 0 -> [2, 3]; user 1 -> [3, 2]
    kg = np.array([[2, 0, 5], [3, 0, 5], [3, 0, 6]])  # item 2 {5}, item 3 {5, 6}
    res = evaluate(
        model, TRAIN, TEST, valid=VALID, ks=(2,), item_attributes=item_attribute_matrix(5, kg)
    )
    assert res.metrics["coverage@2"] == pytest.approx(2 / 5)
    # popularity by training users: items 2 and 3 never seen -> 0; self-info log2(3 users / 1)
    assert res.metrics["avg_popularity@20"] == pytest.approx(0.0)
    assert res.metrics["novelty@20"] == pytest.approx(math.log2(3))
    assert res.metrics["diversity@20"] == pytest.approx(1 - 1 / 2)


def test_per_quartile_partitions_users():
    gen = torch.Generator().manual_seed(1)
    scores = torch.rand(40, 20, generator=gen)
    rng = np.random.default_rng(1)
    train = np.array([(u, i) for u in range(40) for i in rng.choice(20, 1 + u % 8, replace=False)])
    test = np.array([(u, int(rng.integers(0, 20))) for u in range(40)])
    test = test[~(test[:, None, :] == train[None]).all(2).any(1)]
    res = evaluate(FixedScores(scores), train, test, beyond_accuracy=False)
    assert sum(q["users"] for q in res.per_quartile) == res.n_users
    mins = [q["min_train"] for q in res.per_quartile]
    assert mins == sorted(mins)
    overall = sum(q["recall@20"] * q["users"] for q in res.per_quartile) / res.n_users
    assert overall == pytest.approx(res.metrics["recall@20"])


def test_restores_training_mode():
    model = FixedScores(SCORES)
    model.train()
    evaluate(model, TRAIN, TEST, beyond_accuracy=False)
    assert model.training


class FixedFactors(Recommender):
    """Dot-product scores exposed through `score_factors` only (the base class derives `score`
    from them), the runner's reused-buffer path."""

    name = "fixed-factors"

    def __init__(self, users: torch.Tensor, items: torch.Tensor) -> None:
        super().__init__(len(users), len(items))
        self.register_buffer("users", users)
        self.register_buffer("items", items)

    def score_factors(self, users):
        return self.users[users], self.items


def _wide_catalogue():
    gen = torch.Generator().manual_seed(2)
    users, items = torch.randn(40, 8, generator=gen), torch.randn(3000, 8, generator=gen)
    rng = np.random.default_rng(2)
    pairs = np.unique(np.stack([rng.integers(0, 40, 4000), rng.integers(0, 3000, 4000)], 1), axis=0)
    rng.shuffle(pairs)
    return users, items, pairs[:3000], pairs[3000:]


def test_user_major_scoring_gives_the_item_major_block_searchs_metrics(monkeypatch):
    # small catalogues are scored user-major and ranked by torch.topk along rows; that must
    # rank exactly as the item-major block search, for dot-product and full-score models
    users, items, train, test = _wide_catalogue()
    results = {}
    for threshold in (1, 10**9):  # every catalogue item-major / none
        monkeypatch.setattr(runner, "ITEM_MAJOR_MIN_ITEMS", threshold)
        for name, model in [
            ("factors", FixedFactors(users, items)),
            ("scores", FixedScores(users @ items.T)),
        ]:
            res = evaluate(model, train, test, batch_size=7)
            results[threshold, name] = res.metrics
    first = results[1, "factors"]
    assert first["recall@20"] > 0
    for key, metrics in results.items():
        assert metrics == first, key


def test_factor_path_ranks_like_full_scores_on_a_catalogue_wide_enough_for_block_topk(
    monkeypatch,
):
    # the factor path scores batches of 7 users into one reused buffer (the last batch is
    # shorter) and, with 3,000 items in 16-item blocks, takes top_k_per_column's block search
    # (item-major from 3,000 items on here); the score path hands a strided view to torch.topk
    monkeypatch.setattr(runner, "ITEM_MAJOR_MIN_ITEMS", 3000)
    gen = torch.Generator().manual_seed(2)
    users, items = torch.randn(40, 8, generator=gen), torch.randn(3000, 8, generator=gen)
    rng = np.random.default_rng(2)
    pairs = np.unique(np.stack([rng.integers(0, 40, 4000), rng.integers(0, 3000, 4000)], 1), axis=0)
    rng.shuffle(pairs)
    train, test = pairs[:3000], pairs[3000:]
    via_factors = evaluate(FixedFactors(users, items), train, test, batch_size=7)
    via_scores = evaluate(FixedScores(users @ items.T), train, test, batch_size=1024)
    assert via_factors.metrics.keys() == via_scores.metrics.keys()
    for name in via_factors.metrics:
        assert via_factors.metrics[name] == pytest.approx(via_scores.metrics[name]), name
    assert via_factors.metrics["recall@20"] > 0  # the comparison is not between two zeros
    model = FixedFactors(users, items)
    torch.testing.assert_close(model.score(torch.tensor([0, 5])), (users @ items.T)[[0, 5]])
