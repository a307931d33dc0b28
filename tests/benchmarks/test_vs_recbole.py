"""benchmarks/vs_recbole.py's pure parts: the split files both libraries read, and the tables."""

import pytest

from benchmarks.vs_recbole import config_hash, parse_case, table, write_split
from core.data import load_dataset, split_dataset

PARTS = {
    "train": (["u1", "u1", "u2", "u2", "u3"], ["i1", "i2", "i2", "i3", "i1"]),
    "valid": (["u1", "u2"], ["i3", "i1"]),
    "test": (["u1", "u3"], ["i4", "i2"]),
}


def test_exported_split_is_read_back_by_the_recbole_loader_exactly(tmp_path):
    write_split(tmp_path / "toy", "toy", PARTS)
    ds = load_dataset(tmp_path / "toy", "recbole")
    split = split_dataset(ds, "given")
    for part, arr in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        users = [ds.user_ids.raw[u] for u in arr[:, 0]]
        items = [ds.item_ids.raw[i] for i in arr[:, 1]]
        assert sorted(zip(users, items, strict=True)) == sorted(zip(*PARTS[part], strict=True)), (
            part
        )
    assert split.report.get("valid_carved_from_train", 0) == 0  # given valid kept, none carved


def test_a_token_that_cannot_be_an_atomic_field_is_refused(tmp_path):
    bad = {**PARTS, "test": (["u1", "u\t3"], ["i4", "i2"])}
    with pytest.raises(ValueError, match="test row 2"):
        write_split(tmp_path, "toy", bad)
    with pytest.raises(ValueError, match="valid: 2 users but 1 items"):
        write_split(tmp_path, "toy", {**PARTS, "valid": (["u1", "u2"], ["i3"])})


def _row(library, preset, s, ev, ndcg=0.3, **kw):
    return {
        "library": library,
        "preset": preset,
        "model": "bprmf",
        "dataset": "d",
        "recall@20": 0.4,
        "ndcg@20": ndcg,
        "epochs": 50,
        "best_epoch": 40,
        "converged": True,
        "s_per_epoch": s,
        "cpu_s_per_epoch": s,
        "eval_s": ev,
        "eval_cpu_s": ev,
        "peak_rss_mb": 700.0,
        "config_hash": "abc",
        **kw,
    }


def test_table_puts_recbole_first_and_divides_its_times_by_ours():
    rows = [_row("reclens", "default", 0.5, 0.1), _row("recbole", "recbole", 2.0, 0.55)]
    lines = table(rows).splitlines()
    assert lines[2].startswith("| bprmf | recbole |")
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert cells[1] == "reclens default" and cells[11:13] == ["4.0x / 4.0x", "5.5x / 5.5x"]
    assert cells[6] == "early stop" and cells[4] == "–"  # no validation figure given


def test_table_shows_a_failed_peer_run_and_no_ratio():
    rows = [_row("recbole", "recbole", 0, 0) | {"error": "boom"}, _row("reclens", "tuned", 1, 1)]
    text = table(rows)
    assert "failed: boom" in text
    assert "| – / – | – / – |" in text


def test_cases_and_config_hashes():
    assert parse_case("ml100k:lightgcn:2") == ("ml100k", "lightgcn", 2)
    assert parse_case("ml100k-kg:kgat") == ("ml100k-kg", "kgat", None)
    with pytest.raises(ValueError, match="DATASET:MODEL"):
        parse_case("ml100k:transe")
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
