"""Data-parallel training under torchrun: 2 CPU processes (gloo) train the same model as one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.data import load_dataset
from core.data.sample import SampleConfig, write_sample
from core.store import load_artifact
from core.store.training import train_model
from core.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SMALL = SampleConfig(n_users=40, n_items=200, n_directors=20, n_actors=80)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun(n: int, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """`python -m torch.distributed.run --nproc_per_node n -m core ARGS` on CPU threads of one."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n)]
    cmd += ["--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "core", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    write_sample(out, SMALL)
    return out


TRAIN = ["--model", "lightgcn", "--epochs", "2", "--batch-size", "301", "--device", "cpu"]
TRAIN += ["--dim", "16", "--no-progress", "--distributed"]


def test_two_processes_train_what_one_process_trains(data, tmp_path):
    out = tmp_path / "two"
    res = torchrun(2, "train", str(data), *TRAIN, "--out", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("saved ") == 1  # rank 0 alone reports and saves
    meta = json.loads((out / "meta.json").read_text())
    assert meta["strategy"]["kind"] == "data_parallel"
    assert meta["strategy"]["world_size"] == 2 and meta["strategy"]["backend"] == "gloo"
    assert not list(tmp_path.glob(".two.tmp-*"))  # written atomically, no temp folder left

    ds = load_dataset(str(data))
    two = load_artifact(out, ds)
    torch.set_num_threads(1)
    cfg = TrainConfig(epochs=2, batch_size=301, device="cpu")
    one = train_model(ds, "lightgcn", overrides={"dim": 16}, train_config=cfg)
    # the same global batches and the gradient of the whole batch: the same weights
    torch.testing.assert_close(
        two.model.embedding.weight, one.model.embedding.weight, atol=1e-5, rtol=1e-4
    )
    losses = [h["loss"] for h in meta["history"]]
    assert losses == pytest.approx([h["loss"] for h in one.result.history], rel=1e-5)
    assert two.metrics["test"]["recall@20"] == pytest.approx(one.metrics["test"]["recall@20"])
