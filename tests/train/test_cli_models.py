"""`python -m core train | evaluate | recommend` on the sample data: outputs and exit codes."""

import json
import shutil

import pytest

from core.cli.main import main


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "pop"
    assert main(["train", "sample", "--model", "mostpop", "--out", str(out), "--no-progress"]) == 0
    return out


def test_train_writes_an_artifact_that_records_its_dataset(artifact):
    meta = json.loads((artifact / "meta.json").read_text())
    assert meta["dataset"]["path"] == "sample" and meta["model"] == "mostpop"


def test_train_bprmf_one_epoch_with_settings(tmp_path, capsys):
    out = tmp_path / "mf"
    rc = main(
        [
            "train",
            "sample",
            "--model",
            "bprmf",
            "--epochs",
            "1",
            "--dim",
            "8",
            "--set",
            "reg=0.001",
            "--device",
            "cpu",
            "--smooth-window",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["dim"] == 8 and meta["config"]["reg"] == 0.001
    assert meta["train_config"]["smooth_window"] == 2
    assert meta["epochs"] == 1 and meta["device"] == "cpu"
    assert "recall@20" in capsys.readouterr().out


def test_recommend_json_gives_raw_ids_and_titles(artifact, capsys):
    assert main(["recommend", str(artifact), "--user", "u0001", "-k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in out["items"]] == [1, 2, 3]
    assert all(r["item"].startswith("m") and r["title"] for r in out["items"])
    scores = [r["score"] for r in out["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommend_unknown_user_exits_2(artifact, capsys):
    assert main(["recommend", str(artifact), "--user", "no-such-user"]) == 2
    assert "unknown user 'no-such-user'" in capsys.readouterr().err


def test_evaluate_json_matches_training_metrics(artifact, capsys):
    assert main(["evaluate", str(artifact), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    saved = json.loads((artifact / "metrics.json").read_text())["test"]
    assert out["metrics"]["recall@20"] == pytest.approx(saved["recall@20"])
    assert len(out["per_quartile"]) == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "sample", "--model", "nosuch"], "known models"),
        (["train", "sample", "--model", "bprmf", "--set", "nosuch=1"], "no setting nosuch"),
        (["train", "sample", "--model", "bprmf", "--set", "dim=abc"], "dim='abc'"),
        (["evaluate", "/nonexistent/artifact"], "no such artifact folder"),
    ],
)
def test_bad_requests_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_artifact_for_another_dataset_exits_2(artifact, tmp_path, capsys):
    # an artifact whose recorded fingerprint is not the sample's: what another dataset looks like
    bad = tmp_path / "bad"
    shutil.copytree(artifact, bad)
    meta = json.loads((bad / "meta.json").read_text())
    meta["dataset"]["fingerprint"] = "0123456789abcdef"
    del meta["sha256"]  # as an artifact from before digests (an edited one is refused earlier)
    (bad / "meta.json").write_text(json.dumps(meta))
    assert main(["evaluate", str(bad)]) == 2
    assert "was trained on dataset" in capsys.readouterr().err
