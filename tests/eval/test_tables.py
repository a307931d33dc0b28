"""Leaderboard and per-quartile tables (core.eval.tables)."""

from core.eval.tables import leaderboard, quartile_frame


def test_leaderboard_sorted_by_ndcg_with_headline_columns_first():
    board = leaderboard(
        {
            "MostPop": {"coverage@20": 0.1, "recall@20": 0.09, "ndcg@20": 0.06, "flag": True},
            "KGAT": {"coverage@20": 0.5, "recall@20": 0.30, "ndcg@20": 0.18},
            "BPR-MF": {"coverage@20": 0.4, "recall@20": 0.19, "ndcg@20": 0.11},
        }
    )
    assert board["model"].tolist() == ["KGAT", "BPR-MF", "MostPop"]
    assert board.columns.tolist() == ["model", "recall@20", "ndcg@20", "coverage@20"]
    assert leaderboard({}).empty


def test_quartile_frame_orders_columns():
    frame = quartile_frame(
        {"A": [{"quartile": 1, "users": 5, "ndcg@20": 0.1, "recall@20": 0.2, "hit@10": 0.3}]}
    )
    assert frame.columns.tolist() == [
        "model",
        "quartile",
        "users",
        "recall@20",
        "ndcg@20",
        "hit@10",
    ]
