"""`python -m core explain` and `bench fidelity` on a tiny artifact trained in the test."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from tests.models.tiny import paper_kgat_overrides

# the paper's KGAT settings (the KGATConfig defaults before issue 14), two small layers
PAPER_BI = paper_kgat_overrides()

TITLES = {f"m{i}": f"Movie {i}" for i in range(30)}
TITLES["m3"] = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from core.data import load_dataset
    from core.store.training import train_model
    from core.train import TrainConfig

    folder = tmp_path_factory.mktemp("data")
    rows = ["user,item"] + [f"u{u},m{(u * 3 + j) % 30}" for u in range(16) for j in range(20)]
    (folder / "interactions.csv").write_text("\n".join(rows) + "\n")
    items = ["item,title"] + [f"{i},{t}" for i, t in TITLES.items()]
    (folder / "items.csv").write_text("\n".join(items) + "\n")
    kg = ["head,relation,tail"] + [f"m{i},directed_by,d{i % 4}" for i in range(30)]
    kg += [f"m{i},genre,g{i % 3}" for i in range(30)]
    (folder / "kg.csv").write_text("\n".join(kg) + "\n")
    (folder / "ground_truth.csv").write_text("user,driver,relation\nu0,d0,directed_by\n")
    ds = load_dataset(folder)
    out = tmp_path_factory.mktemp("art") / "kgat"
    cfg = TrainConfig(epochs=1, batch_size=64, split_method="random")
    train_model(ds, "kgat", overrides=PAPER_BI, train_config=cfg, out_dir=out,
                dataset_source={"path": str(folder), "format": None})  # fmt: skip
    return str(out)


def test_explain_top_k_json(artifact, capsys):
    assert (
        main(["explain", artifact, "--user", "u1", "-k", "3", "--method", "paths", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "paths" and len(out["explanations"]) == 3
    for row in out["explanations"]:
        assert row["item"] in TITLES and row["title"] == TITLES[row["item"]]
        for p in row["paths"]:
            assert p["edges"][0][0] == "u1" and p["edges"][-1][2] == row["item"]


def test_explain_one_item_text(artifact, capsys):
    assert (
        main(["explain", artifact, "--user", "u1", "--item", "m0", "--method", "counterfactual"])
        == 0
    )
    out = capsys.readouterr().out
    assert "m0" in out and "Movie 0" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--user", "nobody"], "unknown user 'nobody'"),
        (["--user", "u1", "--item", "m99"], "unknown item 'm99'"),
        (["--user", "u1", "--method", "attention"], "cannot explain by 'attention'"),
    ],
)
def test_bad_requests_exit_2_with_one_line(artifact, capsys, argv, message):
    assert main(["explain", artifact, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bench_fidelity_json(artifact, capsys):
    argv = [
        "bench",
        "fidelity",
        artifact,
        "--users",
        "3",
        "-k",
        "2",
        "--methods",
        "paths",
        "--json",
    ]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)["results"]["paths"]
    assert res["explanations"] == 6
    assert 0 <= res["paths"]["explainability"] <= 1
    assert "deletion" in res and res["deletion"]["n"] > 0


def test_bench_latency_json_has_every_method_and_the_card(artifact, capsys):
    argv = ["bench", "latency", artifact, "--users", "2", "-k", "2", "--json", "--no-progress"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    parts = {f"card: {p}" for p in ("explanation", "deletion", "counterfactual")}
    assert set(out["ms"]) == {"paths", "edges", "counterfactual", "card"} | parts
    assert out["rescoring"] == "refit"
    for stats in out["ms"].values():
        assert stats["n"] == 4 and 0 < stats["p50"] <= stats["p95"] <= stats["max"]


def test_bench_latency_text_table(artifact, capsys):
    argv = ["bench", "latency", artifact, "--users", "1", "-k", "1", "--methods", "paths"]
    assert main(argv + ["--no-card"]) == 0
    text = capsys.readouterr().out
    assert "| paths | 1 |" in text and "card" not in text


def test_bench_fidelity_shows_a_progress_bar_on_stderr(artifact, capsys):
    argv = ["bench", "fidelity", artifact, "--users", "2", "-k", "2", "--methods", "paths"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "fidelity" in captured.err and "2/2" in captured.err
    assert "| paths |" in captured.out


def test_bench_latency_can_time_by_cpu_seconds(artifact, capsys, monkeypatch):
    import itertools
    import time

    ticks = itertools.count()  # each reading one second later: every interval is 1000 ms
    monkeypatch.setattr(time, "process_time", lambda: float(next(ticks)))
    argv = ["bench", "latency", artifact, "--users", "1", "-k", "2", "--methods", "paths"]
    assert main(argv + ["--cpu-time", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clock"] == "cpu"
    # read from process_time, not the wall clock; the card is its three parts' intervals
    assert out["ms"]["card"]["max"] == 3000.0
    for part in ("explanation", "deletion", "counterfactual"):
        assert out["ms"][f"card: {part}"] == {"n": 2, "p50": 1000.0, "p95": 1000.0, "max": 1000.0}
    assert out["ms"]["paths"]["p50"] >= 1000.0  # its own interval plus a share of the scoring
