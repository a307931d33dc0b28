"""explain-all: sharded Parquet export of top-k explanations, resumable after a crash or a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import export
from core.cli.common import load_context
from core.data.sample import SampleConfig, write_sample
from core.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SMALL = SampleConfig(n_users=40, n_items=200, n_directors=20, n_actors=80)
USERS = list(range(0, 12, 2))  # 6 users
CFG = export.ExportConfig(k=3, shard_size=2, random_draws=1)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    from core.data import load_dataset
    from core.store.training import train_model

    root = tmp_path_factory.mktemp("export")
    write_sample(root / "data", SMALL)
    ds = load_dataset(str(root / "data"))
    cfg = TrainConfig(epochs=1, device="cpu")
    source = {"path": str(root / "data"), "format": None}
    train_model(ds, "lightgcn", train_config=cfg, out_dir=root / "art", dataset_source=source)
    return root / "art"


@pytest.fixture(scope="module")
def context(artifact):
    ds, _, ctx = load_context(str(artifact), None, None, "cpu")
    return ds, ctx


@pytest.fixture(scope="module")
def uninterrupted(context, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    ds, ctx = context
    out = tmp_path_factory.mktemp("full")
    report = export.export_explanations(ctx, ds, USERS, out, CFG)
    assert report.written == [0, 1, 2] and report.skipped == []
    export.finish(out)
    return out, export.read_export(out)


def test_rows_hold_top_k_explanations_with_fidelity(uninterrupted, context):
    ds, ctx = context
    out, frame = uninterrupted
    assert len(frame) == len(USERS) * CFG.k
    assert frame.groupby("user_index")["rank"].apply(list).tolist() == [[1, 2, 3]] * 6
    first = frame.iloc[0]
    assert first["user"] == ds.user_ids.to_raw(USERS[0]) and first["method"] == "edges"
    assert frame["item_index"][:3].tolist() == ctx.top_k(USERS[0], CFG.k).tolist()
    assert all(frame["sentence"].str.len() > 0)
    contributions = first["contributions"]  # nested Parquet, read back as lists of dicts
    assert contributions and {"kind", "id", "name", "weight"} <= set(contributions[0])
    hops = first["paths"][0]["hops"]
    assert hops[0]["head"] == first["user"] and hops[-1]["tail"] == first["item"]
    # lightgcn re-scores histories: every row carries its deletion fidelity
    assert np.isfinite(frame[["deletion_auc", "drop@1", "random_drop@3"]].to_numpy()).all()
    one = export.read_export(out, user=first["user"])
    assert set(one["user"]) == {first["user"]} and len(one) == CFG.k


def test_shards_are_nested_parquet_with_the_model_in_their_metadata(uninterrupted):
    out, _ = uninterrupted
    shard = pq.read_schema(export.shard_path(out, 0))
    contributions, paths = shard.field("contributions").type, shard.field("paths").type
    assert pa.types.is_list(contributions) and pa.types.is_struct(contributions.value_type)
    hops = paths.value_type.field("hops").type
    assert [f.name for f in hops.value_type] == ["head", "relation", "tail"]
    meta = export.export_meta(export.shard_path(out, 0))
    assert meta["format"] == 2 and meta["model"] == "lightgcn" and meta["config"]["k"] == CFG.k
    manifest = export.read_manifest(out)
    assert manifest["rows"] == len(USERS) * CFG.k and manifest["finished"].endswith("Z")
    assert {p.name for p in out.glob("*.parquet")} >= {"items.parquet", "recency.parquet"}


def _old_export(folder: Path, frame: pd.DataFrame) -> None:
    """An export as format 1 wrote it: JSON text columns, no format in plan or manifest."""
    folder.mkdir()
    old = frame.drop(columns=["fidelity_sampled"]).copy()
    for col in ("contributions", "paths", "counterfactual"):
        old[col] = old[col].map(json.dumps)
    old.to_parquet(folder / "shard-00000.parquet", index=False)
    (folder / "plan.json").write_text(json.dumps({"model": "lightgcn", "users": [0]}))
    (folder / "manifest.json").write_text(json.dumps({"shards": 1, "complete": True}))


def test_an_old_json_string_export_is_refused_with_a_message(uninterrupted, context, tmp_path):
    ds, ctx = context
    _old_export(tmp_path / "old", uninterrupted[1])
    with pytest.raises(export.ExportError, match="older RecLens .*format 1.*explain-all"):
        export.read_export(tmp_path / "old")
    with pytest.raises(export.ExportError, match="older RecLens"):  # not resumed into either
        export.export_explanations(ctx, ds, USERS, tmp_path / "old", CFG)
    # a format-2 manifest over a format-1 shard (a copied-in file) is refused as well
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({"format": 2}))
    with pytest.raises(export.ExportError, match="shard-00000.parquet was written by an older"):
        export.read_export(tmp_path / "old")


def test_fidelity_sample_measures_n_seeded_random_users(context, tmp_path):
    ds, ctx = context
    cfg = export.ExportConfig(k=2, shard_size=3, random_draws=1, fidelity_sample=2, seed=7)
    export.export_explanations(ctx, ds, USERS, tmp_path, cfg)
    export.finish(tmp_path)
    frame = export.read_export(tmp_path)
    measured = sorted(set(frame.loc[frame["fidelity_sampled"], "user_index"]))
    assert measured == sorted(export.fidelity_users(USERS, cfg)) and len(measured) == 2
    assert np.isfinite(frame.loc[frame["fidelity_sampled"], "drop@3"]).all()
    assert frame.loc[~frame["fidelity_sampled"], "drop@3"].isna().all()
    other = export.fidelity_users(USERS, export.ExportConfig(fidelity_sample=2, seed=8))
    assert export.fidelity_users(USERS, cfg) != other or len(USERS) <= 2  # the seed decides


def test_resume_after_a_crash_skips_finished_shards_and_matches(
    uninterrupted, context, tmp_path, monkeypatch
):
    ds, ctx = context
    out = tmp_path / "crashed"
    real = export._write_atomic
    calls = []

    def crash_on_the_second_shard(frame, path):
        calls.append(path)
        if len(calls) == 2:  # killed while writing: a partial temp file, no shard
            (path.parent / f".{path.name}.tmp-dead").write_bytes(b"PAR1 partial")
            raise KeyboardInterrupt
        real(frame, path)

    monkeypatch.setattr(export, "_write_atomic", crash_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        export.export_explanations(ctx, ds, USERS, out, CFG)
    monkeypatch.setattr(export, "_write_atomic", real)
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.parquet"]
    with pytest.raises(export.ExportError, match="missing"):
        export.finish(out)
    with pytest.raises(export.ExportError, match="incomplete"):
        export.read_export(out)
    done = export.shard_path(out, 0).stat().st_mtime_ns

    report = export.export_explanations(ctx, ds, USERS, out, CFG)
    assert report.skipped == [0] and report.written == [1, 2]
    assert export.shard_path(out, 0).stat().st_mtime_ns == done  # not rewritten
    export.finish(out)
    assert not list(out.glob(".shard-*"))  # the dead temp file is cleaned up
    pd.testing.assert_frame_equal(export.read_export(out), uninterrupted[1])


def test_resuming_with_other_settings_is_refused(context, tmp_path):
    ds, ctx = context
    export.export_explanations(ctx, ds, USERS[:2], tmp_path, CFG)
    with pytest.raises(export.ExportError, match="plan.json"):
        export.export_explanations(ctx, ds, USERS[:3], tmp_path, CFG)
    with pytest.raises(export.ExportError, match="cannot explain by attention"):
        export.export_explanations(
            ctx, ds, USERS, tmp_path / "x", CFG.__class__(methods=("attention",))
        )


def _cli(*args: str, ranks: int = 0) -> subprocess.Popen:
    """`python -m core ARGS`, or under torchrun with `ranks` processes."""
    from tests.train.test_distributed import free_port

    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m"]
    if ranks:
        cmd += ["torch.distributed.run", "--nproc_per_node", str(ranks), "--master_addr"]
        cmd += ["127.0.0.1", "--master_port", str(free_port()), "-m"]
    return subprocess.Popen(
        [*cmd, "core", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_killed_export_resumes_on_two_ranks_to_the_uninterrupted_output(
    artifact, context, uninterrupted, tmp_path
):
    ds, _ = context
    out = tmp_path / "killed"
    users = ",".join(ds.user_ids.to_raw(u) for u in USERS)
    args = ["explain-all", str(artifact), "--out", str(out), "--users", users, "-k", "3"]
    args += ["--shard-size", "1", "--random-draws", "1"]  # 6 shards of one user
    proc = _cli(*args)
    deadline = time.time() + 240
    while time.time() < deadline and not list(out.glob("shard-*.parquet")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # no cleanup runs: a real crash
    proc.communicate()
    finished = sorted(out.glob("shard-*.parquet"))
    assert 1 <= len(finished) < 6 and not (out / "manifest.json").exists()
    stamps = {p.name: p.stat().st_mtime_ns for p in finished}

    proc = _cli(*args, ranks=2)  # resumed by two ranks, three shards each
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    assert f"wrote {6 - len(finished)}, skipped {len(finished)} already done" in stdout
    assert "over 2 process(es)" in stdout
    assert {p.name: p.stat().st_mtime_ns for p in finished} == stamps
    # the rows do not depend on the sharding, the ranks or the crash
    pd.testing.assert_frame_equal(export.read_export(out), uninterrupted[1])
