"""benchmarks/vs_recbole.py's pure parts: the split files both libraries read, and the tables."""

import pytest

from benchmarks.vs_recbole import config_hash, convert_hetrec, parse_case, table, write_split
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


def test_speed_rows_are_divided_by_the_peers_speed_row_only():
    rows = [
        _row("recbole", "recbole", 4.0, 1.0, best_valid=None),  # fixed epochs, no validation
        _row("recbole", "recbole", 2.0, 1.0, best_valid=0.2),
        _row("reclens", "default", 1.0, 0.5, fixed=True),
        _row("reclens", "default", 0.5, 0.5),
    ]
    lines = table(rows).splitlines()[2:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [c[6] for c in cells] == ["fixed epochs", "fixed epochs", "early stop", "early stop"]
    assert cells[1][11] == "4.0x / 4.0x" and cells[3][11] == "4.0x / 4.0x"


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


def test_hetrec_listening_file_becomes_an_atomic_inter_file(tmp_path):
    src = tmp_path / "user_artists.dat"
    src.write_text("userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n7\t51\t3\n")
    assert convert_hetrec(src, tmp_path / "lf" / "lf.inter") == 3
    ds = load_dataset(tmp_path / "lf", "recbole")
    pairs = sorted(
        (ds.user_ids.raw[u], ds.item_ids.raw[i])
        for u, i in ds.interactions[["user", "item"]].to_numpy()
    )
    assert pairs == [("2", "51"), ("2", "52"), ("7", "51")]
    src.write_text("userID\tartistID\tweight\n2\t51\t13883\n2\tx\t1\n")
    with pytest.raises(ValueError, match="user_artists.dat line 3"):
        convert_hetrec(src, tmp_path / "bad.inter")


def test_a_preset_resolving_to_the_defaults_is_run_once(monkeypatch):
    from benchmarks import vs_recbole

    fake = {
        ("d", "bprmf", "default"): ({}, {}),
        ("d", "bprmf", "tuned"): ({"lr": vs_recbole_default_lr()}, {}),  # the default, spelt out
        ("d", "bprmf", "as-recbole"): ({"lr": 1e-3}, {"reg": 0.0}),
    }
    monkeypatch.setattr(vs_recbole, "preset", lambda d, m, w: fake[(d, m, w)])
    assert vs_recbole.presets_of("d", "bprmf", ["default", "tuned", "as-recbole"]) == [
        "default",
        "as-recbole",
    ]
    fake[("d", "bprmf", "tuned")] = ({"lr": 5e-2}, {})
    assert vs_recbole.presets_of("d", "bprmf", ["default", "tuned"]) == ["default", "tuned"]


def vs_recbole_default_lr():
    from core.models.registry import MODELS

    return MODELS["bprmf"].default_lr


def test_seed_summary_gives_each_librarys_mean_and_sample_sd_and_their_difference():
    from benchmarks.vs_recbole import seed_summary

    def tune(library, seed, ndcg, preset=None):
        row = {"library": library, "seed": seed, "valid": {"ndcg@20": ndcg}, "best_epoch": 40}
        return row | ({"preset": preset} if preset else {})

    rows = [
        tune("recbole", 1, 0.26),
        tune("reclens", 1, 0.27, "default"),
        tune("recbole", 2, 0.28),
        tune("reclens", 2, 0.27, "default"),
        {"library": "reclens", "preset": "default", "seed": 3, "error": "budget-cut"},
    ]
    lines = seed_summary(rows).splitlines()
    peer = [c.strip() for c in lines[2].strip("|").split("|")]
    ours = [c.strip() for c in lines[3].strip("|").split("|")]
    assert peer[0] == "recbole" and peer[3:5] == ["0.2700", "0.0141"]  # sd of 0.26, 0.28
    assert ours[0] == "reclens default" and ours[3:5] == ["0.2700", "0.0000"]
    assert "seed 3 failed" in ours[2] and ours[1] == "1, 2, 3"  # listed, not averaged
    assert (
        "reclens default minus recbole: +0.0000 (standard error 0.0100, 2 and 2 seeds)" in lines[-1]
    )
