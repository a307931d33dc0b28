"""`import recbole`: a RecBole-like checkpoint (written here, no RecBole) becomes an artifact
whose scores are the checkpoint's, on RecBole's split; bad checkpoints are refused cleanly."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from core.cli.main import main
from core.data import load_dataset
from core.store.artifacts import ArtifactError, list_artifacts, load_artifact, read_meta
from core.store.origin import origin_label, origin_of
from core.store.recbole_import import import_recbole
from core.store.workspace import models_for
from tests.store.recbole_fakes import fake_recbole, write_checkpoint
from tests.store.recbole_folder import SETTINGS, first_seen, write_folder

DIM = 4


def _table(tokens: list[str], seed: int) -> torch.Tensor:
    """Rows in RecBole order ([PAD] first); each token's row is a function of the token."""
    rows = [torch.zeros(DIM)]
    for token in tokens:
        gen = torch.Generator().manual_seed(seed * 1000 + int(token[1:]))
        rows.append(torch.randn(DIM, generator=gen))
    return torch.stack(rows)


def _checkpoint(tmp_path, folder, model="BPR", **extra):
    users, items = first_seen(folder, 0), first_seen(folder, 1)
    weights = {"user_embedding.weight": _table(users, 1), "item_embedding.weight": _table(items, 2)}
    settings = {**SETTINGS, "model": model, "embedding_size": DIM, "n_layers": 2, **extra}
    return write_checkpoint(tmp_path / f"{model}.pth", settings, weights), users, items


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    fake_recbole(monkeypatch)
    folder = write_folder(tmp_path)
    return folder, load_dataset(folder, "recbole")


def test_imported_bpr_scores_what_the_checkpoint_scores(tmp_path, tiny):
    folder, ds = tiny
    path, users, items = _checkpoint(tmp_path, folder)
    result = import_recbole(path, ds, folder, tmp_path / "art", version="1.2.1")
    trained = load_artifact(result.folder, ds)
    u_tab, i_tab = _table(users, 1), _table(items, 2)
    for raw_u in users:
        for raw_i in items:
            expected = u_tab[users.index(raw_u) + 1] @ i_tab[items.index(raw_i) + 1]
            u, i = ds.user_ids.to_internal(raw_u), ds.item_ids.to_internal(raw_i)
            got = trained.model.score_pairs(torch.tensor([u]), torch.tensor([i]))
            assert got.item() == pytest.approx(expected.item(), abs=1e-6)
    meta = read_meta(result.folder)
    assert origin_label(meta) == "RecBole 1.2.1 BPR"
    assert origin_of(meta).sha256 == result.origin.sha256 and len(result.origin.sha256) == 64
    assert meta["split"]["method"] == "recbole"
    assert trained.split.test.shape == (int(meta["split"]["sizes"][2]), 2)


def test_imported_lightgcn_keeps_depth_and_width(tmp_path, tiny):
    folder, ds = tiny
    path, _, _ = _checkpoint(tmp_path, folder, model="LightGCN", n_layers=3)
    result = import_recbole(path, ds, folder, tmp_path / "art")
    trained = load_artifact(result.folder, ds)
    assert (trained.model.config.dim, trained.model.config.n_layers) == (DIM, 3)
    assert set(result.origin.measured) >= {"recall@20", "ndcg@20"}


def test_another_model_is_refused_with_the_supported_list(tmp_path, tiny):
    folder, ds = tiny
    path, _, _ = _checkpoint(tmp_path, folder, model="NeuMF")
    with pytest.raises(ArtifactError, match="'NeuMF' cannot be imported; supported: BPR, LightGCN"):
        import_recbole(path, ds, folder, tmp_path / "art")


def test_a_checkpoint_of_another_dataset_is_refused_saying_which_size(tmp_path, tiny):
    folder, ds = tiny
    weights = {
        "user_embedding.weight": torch.zeros(5, DIM),
        "item_embedding.weight": torch.zeros(13, DIM),
    }
    settings = {**SETTINGS, "model": "BPR", "embedding_size": DIM}
    path = write_checkpoint(tmp_path / "other.pth", settings, weights)
    with pytest.raises(ArtifactError, match="has 5 user rows .* gives 9 users"):
        import_recbole(path, ds, folder, tmp_path / "art")


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return os.system, (f"touch {self.sentinel}",)


def test_cli_refuses_a_code_carrying_checkpoint_in_one_line(tmp_path, capsys):
    folder = write_folder(tmp_path)
    sentinel = tmp_path / "sentinel"
    path = tmp_path / "evil.pth"
    torch.save({"config": _Evil(sentinel), "state_dict": {}}, path, pickle_protocol=2)
    args = ["import", "recbole", str(path), "--dataset", str(folder), "--out", str(tmp_path / "a")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "evil.pth" in err and "posix.system" in err
    assert not sentinel.exists() and not (tmp_path / "a").exists()


def test_cli_imports_and_prints_the_parity_figures(tmp_path, monkeypatch, capsys):
    fake_recbole(monkeypatch)
    folder = write_folder(tmp_path)
    path, _, _ = _checkpoint(tmp_path, folder)
    out = tmp_path / "art"
    args = ["import", "recbole", str(path), "--dataset", str(folder), "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "imported RecBole 1.2 BPR" in text and "ndcg@20" in text
    assert "warning: RecLens's validation figure differs" in text  # the fake records 0.25
    assert np.isfinite(origin_of(read_meta(out)).measured["ndcg@20"])


def test_an_imported_model_is_listed_under_its_origin(tmp_path, tiny):
    folder, ds = tiny
    path, _, _ = _checkpoint(tmp_path, folder)
    workspace = tmp_path / "ws"
    import_recbole(path, ds, folder, workspace / "imported" / "bpr", version="1.2.1")
    models = models_for(workspace, ds)
    assert list(models) == ["RecBole 1.2.1 BPR"]
    assert [a.origin for a in list_artifacts(workspace)] == ["RecBole 1.2.1 BPR"]


def test_loading_without_the_atomic_files_says_the_split_cannot_be_rebuilt(tmp_path, tiny):
    folder, ds = tiny
    path, _, _ = _checkpoint(tmp_path, folder)
    result = import_recbole(path, ds, folder, tmp_path / "art")
    folder.rename(tmp_path / "moved")
    with pytest.raises(ArtifactError, match="cannot rebuild RecBole's split"):
        load_artifact(result.folder, ds)


def test_downstream_commands_work_on_an_imported_model(tmp_path, monkeypatch, capsys):
    fake_recbole(monkeypatch)
    folder = write_folder(tmp_path)
    path, users, _ = _checkpoint(tmp_path, folder, model="LightGCN")
    out = str(tmp_path / "art")
    assert main(["import", "recbole", str(path), "--dataset", str(folder), "--out", out]) == 0
    assert main(["evaluate", out, "--json"]) == 0
    assert main(["recommend", out, "--user", users[0], "-k", "3"]) == 0
    assert main(["explain", out, "--user", users[0], "-k", "1", "--json"]) == 0
    text = capsys.readouterr().out
    assert "recall@20" in text and f"top 3 for user {users[0]}" in text
