"""benchmarks/accuracy.py's RESULTS.md table: rows carry settings, seed and run; runs listed."""

from benchmarks.accuracy import COLUMNS, format_row, merge_section

ROW = {
    "dataset": "sample",
    "model": "bprmf",
    "Recall@20": 0.2,
    "NDCG@20": 0.1,
    "epochs": 30,
    "best_epoch": 20,
    "stopped_by": "early stop",
    "s/epoch": 0.1,
    "train s": 3.0,
    "eval s": 0.1,
    "peak RSS MB": 700.0,
    "settings": {"train": {"lr": 0.002}, "model": {"reg": 0.001}},
    "seed": 2020,
}
OLD = """| dataset | model | x |
| sample | bprmf | 0.1 | 0.1 | 1 (1) | epoch cap | 0 | 0 | 0 | 0 | – | 2020 | r01 |
| sample | mostpop | 0.1 | 0.1 | 0 (0) | – | 0 | 0 | 0 | 0 | – | 2020 | r02 |

Runs (the `run` column):
- `r01`: 2026-11-27, `python benchmarks/accuracy.py --models bprmf`
- `r02`: 2026-11-28, `python benchmarks/accuracy.py --models mostpop`
"""


def test_a_row_says_how_it_stopped_its_settings_hash_seed_and_run():
    cells = format_row(ROW, "rabc123")
    assert len(cells) == len(COLUMNS)
    named = dict(zip(COLUMNS, cells, strict=True))
    assert named["epochs (kept)"] == "30 (20)" and named["stopped by"] == "early stop"
    assert named["settings"].startswith("`") and len(named["settings"]) == 12
    assert (named["seed"], named["run"]) == ("2020", "rabc123")


def test_merge_replaces_the_row_and_drops_runs_no_row_uses():
    body = merge_section(OLD, [format_row(ROW, "rnew")], "rnew", "2026-12-01, `cmd`")
    assert "r01" not in body  # its only row was replaced
    assert "- `r02`: 2026-11-28" in body and "- `rnew`: 2026-12-01, `cmd`" in body
    rows = [ln for ln in body.splitlines() if ln.startswith("| sample")]
    assert [r.split("|")[2].strip() for r in rows] == ["mostpop", "bprmf"]  # registry order
    assert rows[1].rstrip(" |").endswith("rnew")
