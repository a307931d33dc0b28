import pytest
import torch

from core.eval.topk import top_k_per_column


def _check_same_as_topk(scores: torch.Tensor, k: int, block: int = 8) -> None:
    """scores: item-major [N, B]."""
    values, rows = top_k_per_column(scores, k, block=block)
    want_values, want_rows = torch.topk(scores.T, k, dim=1)
    torch.testing.assert_close(values, want_values)
    # the returned rows hold the returned values
    torch.testing.assert_close(scores.T.gather(1, rows), values)
    if torch.isfinite(scores).all():  # continuous random scores have no ties
        assert torch.equal(rows, want_rows)


@pytest.mark.parametrize("n_items", [80, 83, 200, 1001])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_torch_topk_on_random_scores(n_items, k):
    gen = torch.Generator().manual_seed(n_items * 10 + k)
    _check_same_as_topk(torch.randn(n_items, 7, generator=gen), k)


def test_all_winners_in_one_block_or_in_the_tail_or_spread_over_every_block():
    scores = torch.rand(83, 3) * 0.1
    scores[16:21, 0] = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])  # one block holds the top 5
    scores[80:83, 1] = torch.tensor([9.0, 8.0, 7.0])  # the 3 items after the last block
    scores[::8, 2] = 2.0 + torch.arange(11) / 100  # one winner in every block
    _check_same_as_topk(scores, 5)


def test_masked_scores_are_never_chosen_before_finite_ones():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(96, 4, generator=gen)
    scores[:90, 0] = float("-inf")  # fewer finite entries than blocks
    scores[::2, 1] = float("-inf")
    values, rows = top_k_per_column(scores, 5, block=8)
    assert torch.isfinite(values[1:]).all()
    assert (rows[0] >= 90).all() and torch.isfinite(values[0]).all()
    torch.testing.assert_close(values, torch.topk(scores.T, 5, dim=1).values)


def test_columns_with_fewer_finite_scores_than_k_end_in_minus_infinity():
    scores = torch.full((64, 2), float("-inf"))
    scores[3, 0], scores[40, 1] = 1.0, 2.0
    values, rows = top_k_per_column(scores, 3, block=4)
    assert values[0, 0] == 1.0 and rows[0, 0] == 3
    assert values[1, 0] == 2.0 and rows[1, 0] == 40
    assert torch.isinf(values[:, 1:]).all()


def test_small_catalogues_and_strided_views_fall_back_to_torch_topk():
    _check_same_as_topk(torch.randn(20, 2), 4)  # 2 blocks of 8: fewer than 2k
    _check_same_as_topk(torch.randn(3, 200).T, 4)  # a transposed (user-major) score block
