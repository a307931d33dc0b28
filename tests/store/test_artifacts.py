"""Artifacts round-trip exactly and refuse what they should: other dataset, corrupt or missing
files, unknown model names, half-written folders."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from core.store import (
    ArtifactError,
    ArtifactWarning,
    delete_artifact,
    list_artifacts,
    load_artifact,
    read_meta,
)
from core.store.training import train_model
from core.train import TrainConfig
from tests.train.fixture import tiny_dataset

CFG = TrainConfig(epochs=2, batch_size=128, lr=0.01, seed=3)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    ds = tiny_dataset()
    folder = tmp_path_factory.mktemp("ws") / "models" / "tiny-bprmf"
    trained = train_model(ds, "bprmf", overrides={"dim": 8}, train_config=CFG, out_dir=folder)
    return ds, trained, folder


def test_round_trip_gives_identical_scores(saved):
    ds, trained, folder = saved
    loaded = load_artifact(folder, ds)
    users = torch.arange(ds.n_users)
    with torch.no_grad():
        assert torch.equal(loaded.model.score(users), trained.model.score(users))
    assert loaded.meta["model"] == "bprmf" and loaded.meta["config"]["dim"] == 8
    assert loaded.metrics["test"] == pytest.approx(trained.metrics["test"], nan_ok=True)
    assert (loaded.split.test == trained.split.test).all()
    assert not loaded.model.training


def test_meta_records_provenance(saved):
    ds, trained, folder = saved
    meta = read_meta(folder)
    for key in (
        "config",
        "train_config",
        "seed",
        "device",
        "training_seconds",
        "epochs",
        "code_version",
        "created",
    ):
        assert key in meta, key
    assert meta["dataset"] == {"name": "tiny", "fingerprint": ds.fingerprint()}
    assert meta["split"]["method"] == "random" and meta["split"]["seed"] == 2020
    assert set(json.loads((folder / "metrics.json").read_text())["test"]) >= {
        "recall@20",
        "ndcg@20",
    }


def test_refuses_another_dataset_naming_both(saved):
    _, _, folder = saved
    other = tiny_dataset(name="other", seed=5)
    with pytest.raises(ArtifactError, match="'tiny'.*'other'"):
        load_artifact(folder, other)


def _copy(folder, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(folder, dst)
    return dst


def test_corrupt_weights_is_a_clear_error(saved, tmp_path):
    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    (bad / "weights.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ArtifactError, match="corrupt"):
        load_artifact(bad, ds)


def test_weights_of_wrong_shape_are_refused(saved, tmp_path):
    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    meta = json.loads((bad / "meta.json").read_text())
    meta["config"]["dim"] = 4  # the stored tensors are 8 wide
    del meta["sha256"]  # as an artifact from before digests: the shape check still refuses it
    (bad / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="weights"), pytest.warns(ArtifactWarning):
        load_artifact(bad, ds)


@pytest.mark.parametrize("missing", ["meta.json", "metrics.json", "weights.safetensors"])
def test_missing_file_is_a_clear_error(saved, tmp_path, missing):
    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    (bad / missing).unlink()
    with pytest.raises(ArtifactError, match=missing.replace(".", r"\.")):
        load_artifact(bad, ds)


def test_unknown_model_and_bad_json(saved, tmp_path):
    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    meta = json.loads((bad / "meta.json").read_text())
    del meta["sha256"]
    (bad / "meta.json").write_text(json.dumps({**meta, "model": "nosuch"}))
    with pytest.raises(ArtifactError, match="unknown model 'nosuch'.*bprmf"):
        with pytest.warns(ArtifactWarning):
            load_artifact(bad, ds)
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable"):
        load_artifact(bad, ds)


def test_overwrite_is_atomic_and_leaves_no_temp_folders(saved, tmp_path):
    ds, _, _ = saved
    folder = tmp_path / "art"
    first = train_model(ds, "mostpop", train_config=CFG, out_dir=folder)
    second = train_model(ds, "bprmf", overrides={"dim": 4}, train_config=CFG, out_dir=folder)
    assert read_meta(folder)["model"] == "bprmf"
    assert [p.name for p in tmp_path.iterdir()] == ["art"]
    loaded = load_artifact(folder, ds)
    assert loaded.model.item_emb.weight.shape[1] == 4
    assert first.path == second.path == folder


def test_mostpop_buffer_round_trips(tmp_path):
    ds = tiny_dataset()
    trained = train_model(ds, "mostpop", train_config=CFG, out_dir=tmp_path / "pop")
    loaded = load_artifact(tmp_path / "pop", ds)
    assert torch.equal(loaded.model.popularity, trained.model.popularity)
    assert loaded.model.popularity.sum() > 0


def test_list_and_delete(saved, tmp_path):
    ds, _, folder = saved
    ws = tmp_path / "ws"
    a = _copy(folder, ws)
    (ws / ".half-written.tmp-1234").mkdir()
    (ws / ".half-written.tmp-1234" / "meta.json").write_text("{}")
    infos = list_artifacts(ws)
    assert [i.path for i in infos] == [a]
    assert infos[0].model == "bprmf" and infos[0].dataset == "tiny"
    assert "recall@20" in infos[0].metrics
    delete_artifact(a)
    assert list_artifacts(ws) == []
    with pytest.raises(ArtifactError, match="not an artifact"):
        delete_artifact(ws)


def test_a_split_that_cannot_be_rebuilt_is_refused(tmp_path):
    import dataclasses

    from core.data import split_dataset

    ds = tiny_dataset()
    real = split_dataset(ds, "random", seed=2020)
    custom = dataclasses.replace(real, train=real.train[1:], test=real.test)  # one row dropped
    folder = tmp_path / "custom"
    train_model(ds, "mostpop", train_config=CFG, split=custom, out_dir=folder)
    with pytest.raises(ArtifactError, match="split recomputed"):
        load_artifact(folder, ds)


def test_checkpoints_are_loadable_until_the_final_save_replaces_them(tmp_path):
    from core.train import Callback

    ds = tiny_dataset()
    folder = tmp_path / "ckpt"
    seen = []

    class Probe(Callback):  # runs before the checkpoint of its own epoch is written
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                seen.append(load_artifact(folder, ds).meta)

    cfg = dataclasses.replace(CFG, epochs=2)
    train_model(
        ds,
        "bprmf",
        overrides={"dim": 4},
        train_config=cfg,
        out_dir=folder,
        callbacks=[Probe()],
        checkpoint_every=1,
    )
    assert seen[0]["checkpoint"] is True and seen[0]["epochs"] == 1
    final = read_meta(folder)
    assert "checkpoint" not in final and final["epochs"] == 2


def test_a_run_can_start_from_an_artifact_of_the_same_model_and_split(saved, tmp_path):
    ds, trained, folder = saved
    zero_epochs = dataclasses.replace(CFG, epochs=0)
    warm = train_model(ds, "bprmf", train_config=zero_epochs, init_from=folder)
    users = torch.arange(ds.n_users)
    with torch.no_grad():  # no epoch ran: the artifact's weights and settings came through
        assert torch.equal(warm.model.score(users), trained.model.score(users))
    assert warm.meta["config"]["dim"] == 8 and warm.meta["init_from"]["path"] == str(folder)
    with pytest.raises(ArtifactError, match="settings differ"):
        train_model(ds, "bprmf", overrides={"dim": 16}, train_config=CFG, init_from=folder)
    with pytest.raises(ArtifactError, match="another split"):
        other = dataclasses.replace(CFG, split_seed=99)
        train_model(ds, "bprmf", train_config=other, init_from=folder)


def _write_meta(folder, meta):
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


def test_meta_records_the_sha256_of_every_file(saved):
    _, _, folder = saved
    import hashlib

    digests = read_meta(folder)["sha256"]
    assert set(digests) == {"weights.safetensors", "metrics.json", "meta.json"}
    for name in ("weights.safetensors", "metrics.json"):
        assert digests[name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()


def test_weights_altered_with_the_right_shapes_are_refused_naming_the_file(saved, tmp_path):
    from safetensors.torch import load_file, save_file

    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    tensors = load_file(bad / "weights.safetensors")
    tensors = {k: v + 0.5 for k, v in tensors.items()}  # same shapes, other values
    save_file(tensors, bad / "weights.safetensors")
    with pytest.raises(ArtifactError, match=r"weights\.safetensors: sha256 differs"):
        load_artifact(bad, ds)


def test_hand_edited_metrics_or_meta_are_refused_naming_the_file(saved, tmp_path):
    ds, _, folder = saved
    bad = _copy(folder, tmp_path)
    metrics = json.loads((bad / "metrics.json").read_text())
    metrics["test"]["recall@20"] = 0.99
    (bad / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ArtifactError, match=r"metrics\.json: sha256 differs"):
        load_artifact(bad, ds)
    bad2 = _copy(folder, tmp_path / "b")
    meta = json.loads((bad2 / "meta.json").read_text())
    meta["epochs"] = 400
    _write_meta(bad2, meta)
    with pytest.raises(ArtifactError, match=r"meta\.json: its content differs"):
        load_artifact(bad2, ds)


def test_reformatting_meta_json_keeps_it_valid(saved, tmp_path):
    ds, _, folder = saved
    copy = _copy(folder, tmp_path)
    _write_meta(copy, json.loads((copy / "meta.json").read_text()))  # other indentation
    assert load_artifact(copy, ds).warnings == []


def test_an_artifact_without_digests_loads_with_a_warning(saved, tmp_path):
    ds, trained, folder = saved
    old = _copy(folder, tmp_path)
    meta = json.loads((old / "meta.json").read_text())
    del meta["sha256"]
    _write_meta(old, meta)
    with pytest.warns(ArtifactWarning, match="no sha256 digests"):
        loaded = load_artifact(old, ds)
    assert loaded.warnings and "cannot be verified" in loaded.warnings[0]
    users = torch.arange(ds.n_users)
    with torch.no_grad():
        assert torch.equal(loaded.model.score(users), trained.model.score(users))


def test_the_artifact_lock_refuses_a_second_writer_across_threads_and_processes(tmp_path):
    import subprocess
    import sys

    from core.store.artifacts import ArtifactBusy, artifact_lock

    folder = tmp_path / "ws" / "kgat"
    with artifact_lock(folder):
        with pytest.raises(ArtifactBusy, match="another training"):
            with artifact_lock(folder):
                pass
        probe = (
            "import sys; from core.store.artifacts import artifact_lock, ArtifactBusy\n"
            "try:\n    with artifact_lock(sys.argv[1]): print('got it')\n"
            "except ArtifactBusy: print('busy')\n"
        )
        root = str(Path(__file__).resolve().parents[2])
        out = subprocess.run(
            [sys.executable, "-c", probe, str(folder)], capture_output=True, text=True, cwd=root
        )
        assert out.stdout.strip() == "busy", out.stderr
    with artifact_lock(folder):  # released on exit
        pass


def test_cli_train_refuses_while_the_dashboard_trains_the_same_artifact(tmp_path, capsys):
    from core.cli.main import main
    from core.store.artifacts import artifact_lock

    out = tmp_path / "art"
    with artifact_lock(out):
        code = main(["train", "sample", "--model", "mostpop", "--out", str(out), "--epochs", "1"])
    assert code != 0 and "another training" in capsys.readouterr().err
    assert not (out / "meta.json").exists()
