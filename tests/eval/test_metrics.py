"""Every metric against values worked out by hand on tiny cases."""

import math

import numpy as np
import pytest
import torch

from core.eval import metrics as M

L2 = math.log2
# user 0: relevant at ranks 1 and 3 (1-based) out of 3 relevant items
# user 1: nothing relevant in the list, 2 relevant items
# user 2: relevant at rank 2 only, 1 relevant item
HITS = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.bool)
N_REL = torch.tensor([3, 2, 1])


def test_recall():
    assert M.recall_at_k(HITS, N_REL, 4).tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    assert M.recall_at_k(HITS, N_REL, 2).tolist() == pytest.approx([1 / 3, 0.0, 1.0])


def test_precision_divides_by_k():
    assert M.precision_at_k(HITS, 4).tolist() == pytest.approx([0.5, 0.0, 0.25])
    assert M.precision_at_k(HITS, 1).tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_hit_rate():
    assert M.hit_rate_at_k(HITS, 4).tolist() == [1.0, 0.0, 1.0]
    assert M.hit_rate_at_k(HITS, 1).tolist() == [1.0, 0.0, 0.0]


def test_mrr():
    assert M.mrr_at_k(HITS, 4).tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert M.mrr_at_k(HITS, 1).tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_ndcg_binary_log2_with_ideal_over_min_relevant_k():
    dcg0 = 1 / L2(2) + 1 / L2(4)
    idcg0 = 1 / L2(2) + 1 / L2(3) + 1 / L2(4)  # min(3, 4) = 3 ideal hits
    expected = [dcg0 / idcg0, 0.0, (1 / L2(3)) / 1.0]
    assert M.ndcg_at_k(HITS, N_REL, 4).tolist() == pytest.approx(expected)
    # at k=2 user 0 has 1 hit and the ideal holds min(3, 2) = 2 hits
    assert M.ndcg_at_k(HITS, N_REL, 2)[0].item() == pytest.approx(1.0 / (1.0 + 1 / L2(3)))


def test_ndcg_perfect_list_is_one():
    hits = torch.tensor([[1, 1, 0]], dtype=torch.bool)
    assert M.ndcg_at_k(hits, torch.tensor([2]), 3).item() == pytest.approx(1.0)


def test_accuracy_metrics_names():
    out = M.accuracy_metrics(HITS, N_REL, (2, 4))
    assert set(out) == {
        f"{m}@{k}" for m in ("recall", "ndcg", "precision", "hit", "mrr") for k in (2, 4)
    }


def test_coverage():
    rec = torch.tensor([[0, 1], [1, 2]])
    assert M.coverage(rec, 10) == pytest.approx(0.3)


def test_self_information_and_novelty():
    counts = np.array([4, 2, 1, 0])  # of 4 users
    info = M.item_self_information(counts, 4)
    assert info.tolist() == pytest.approx([0.0, 1.0, 2.0, 2.0])  # unseen counts as one user
    rec = torch.tensor([[0, 1], [2, 3]])
    assert M.novelty_per_user(rec, torch.as_tensor(info)).tolist() == pytest.approx([0.5, 2.0])


def test_average_popularity():
    rec = torch.tensor([[0, 1], [2, 3]])
    counts = torch.tensor([4.0, 2.0, 1.0, 0.0])
    assert M.popularity_per_user(rec, counts).tolist() == pytest.approx([3.0, 0.5])


def test_item_attribute_matrix_uses_both_directions_and_dedupes():
    # items 0..2, entities 3, 4; (3 -> 1) links item 1 through a tail-side triple
    kg = np.array([[0, 0, 3], [0, 0, 3], [0, 1, 4], [3, 0, 1], [2, 0, 2]])
    mat = M.item_attribute_matrix(3, kg).toarray()
    assert mat[0].tolist() == [0, 0, 0, 1, 1]
    assert mat[1].tolist() == [0, 0, 0, 1, 0]
    assert mat[2].tolist() == [0, 0, 1, 0, 0]  # a self-loop is the item's own neighbour
    assert M.item_attribute_matrix(3, np.zeros((0, 3), dtype=np.int64)) is None


def test_intra_list_diversity_by_jaccard():
    # item attribute sets: 0 {a, b}, 1 {b, c}, 2 {a, b}, 3 {}
    import scipy.sparse as sp

    attrs = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]], np.float32))
    rec = torch.tensor([[0, 1, 2], [3, 3, 3], [0, 3, 1]])
    div, ok = M.intra_list_diversity(rec, attrs)
    # user 0 pairs: (0,1) 1/3, (0,2) 1, (1,2) 1/3 -> mean 5/9
    # user 1: only empty sets -> no defined pair
    # user 2 pairs: (0,3) 0/2, (0,1) 1/3, (3,1) 0/2 -> mean 1/9
    assert ok.tolist() == [True, False, True]
    assert div[0].item() == pytest.approx(1 - 5 / 9)
    assert div[2].item() == pytest.approx(1 - 1 / 9)


def test_activity_quartiles_equal_groups_by_count():
    counts = np.array([5, 1, 9, 3, 7, 2, 8, 4])
    users = np.arange(8)
    q = M.activity_quartiles(counts, users)
    # order by count: 1(1) 5(2) 3(3) 7(4) 0(5) 4(7) 6(8) 2(9)
    assert q.tolist() == [2, 0, 3, 1, 2, 0, 3, 1]
