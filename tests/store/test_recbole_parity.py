"""Parity with RecBole itself: a checkpoint RecBole 1.2.1 trains (in `make peer`'s venv, by
benchmarks/recbole_checkpoint.py) imports into an artifact whose test Recall@20 / NDCG@20 on
RecBole's split equal RecBole's own within 0.002, and whose scores of 200 random (user, item)
pairs equal RecBole's `predict` within 1e-4. Slow: trains on ml-100k; skipped without the peer
venv or the dataset."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from core.data import load_dataset
from core.store.artifacts import load_artifact
from core.store.recbole_import import import_recbole

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / ".venv-peer" / "bin" / "python"
DATA = ROOT.parent / "shared" / "datasets" / "ml-100k-recbole-kg"
EPOCHS = {"BPR": 2, "LightGCN": 2, "KGAT": 1}  # short: `make test` runs slow tests too

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PEER.exists(), reason="RecBole's venv (.venv-peer, `make peer`) absent"),
    pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} absent"),
]


def _recbole_run(model: str, out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(PEER), str(ROOT / "benchmarks" / "recbole_checkpoint.py"), "--model", model]
    cmd += ["--data", str(DATA), "--epochs", str(EPOCHS[model]), "--out", str(out)]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=1200)
    return json.loads((out / "recbole.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DATA, "recbole")


@pytest.mark.parametrize("model", list(EPOCHS))
def test_imported_checkpoint_matches_recbole(model, dataset, tmp_path):
    reference = _recbole_run(model, tmp_path / "recbole")
    result = import_recbole(reference["checkpoint"], dataset, DATA, tmp_path / "art")
    measured = result.origin.measured
    assert abs(measured["recall@20"] - reference["recall@20"]) <= 0.002
    assert abs(measured["ndcg@20"] - reference["ndcg@20"]) <= 0.002
    assert measured["valid difference"] <= 1e-4  # best_valid_score is rounded by RecBole
    trained = load_artifact(result.folder, dataset)
    pairs = reference["pairs"]
    users = torch.tensor([dataset.user_ids.to_internal(p["user"]) for p in pairs])
    items = torch.tensor([dataset.item_ids.to_internal(p["item"]) for p in pairs])
    ours = trained.model.score_pairs(users, items)
    theirs = torch.tensor([p["score"] for p in pairs])
    assert len(pairs) == 200
    assert torch.max(torch.abs(ours - theirs)).item() <= 1e-4
