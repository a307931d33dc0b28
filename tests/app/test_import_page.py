"""The Train page's "Import a model": a RecBole-like checkpoint (written here, no RecBole) from a
server path is imported, its parity figures shown and the model listed with its origin; paths
outside the data roots, code-carrying files and non-admins are refused."""

from __future__ import annotations

import os

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.data import load_dataset
from core.safe_text import md
from core.store.workspace import mark_complete
from tests.app.conftest import MAIN
from tests.store.recbole_fakes import fake_recbole
from tests.store.recbole_folder import write_folder
from tests.store.test_recbole_import import _checkpoint


@pytest.fixture
def env(tmp_path, monkeypatch):
    fake_recbole(monkeypatch)
    folder = write_folder(tmp_path / "data")
    ws = tmp_path / "ws"
    mark_complete(ws, load_dataset(folder, "recbole"))  # no first-launch training here
    for key, value in {
        "RECLENS_WORKSPACE": str(ws),
        "RECLENS_DATASET": str(folder),
        "RECLENS_FAST_TRAIN": "1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RECLENS_DATA_ROOTS", raising=False)
    monkeypatch.delenv("RECLENS_ADMIN_TOKEN", raising=False)
    path, _, _ = _checkpoint(ws, folder)
    return folder, ws, path


def _train_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["page"] = "train"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _import(at: AppTest, checkpoint, folder) -> AppTest:
    at.text_input(key="im_path").input(str(checkpoint)).run()
    at.text_input(key="im_data").input(str(folder)).run()
    at.button(key="im_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_import_shows_parity_and_lists_the_model_with_its_origin(env):
    folder, _, checkpoint = env
    at = _import(_train_page(), checkpoint, folder)
    assert any(md("Imported RecBole 1.2 BPR") in s.value for s in at.success)
    figures = next(d.value for d in at.dataframe if "figure" in d.value.columns)
    assert {"recall@20", "ndcg@20"} <= set(figures["figure"])
    # the fake checkpoint records a best validation score of 0.25 that its weights do not give
    assert any("differs from the one the checkpoint records" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "origin" in d.value.columns)
    assert list(table["origin"]) == ["RecBole 1.2 BPR"]
    at.run()  # the sidebar lists it on the next run
    assert "RecBole 1.2 BPR" in at.sidebar.selectbox(key="model").options


def test_the_leaderboard_says_an_imported_model_was_tested_on_its_own_split(env):
    folder, _, checkpoint = env
    _import(_train_page(), checkpoint, folder)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["page"] = "overview"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(d.value.to_string() for d in at.dataframe)
    assert "RecBole 1.2 BPR (its own split)" in shown


def test_a_path_outside_the_data_roots_is_refused(env, tmp_path):
    folder, _, checkpoint = env
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    moved = outside / "x.pth"
    moved.write_bytes(checkpoint.read_bytes())
    at = _train_page()
    at.text_input(key="im_path").input(str(moved)).run()
    assert any("outside the folders" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "im_go"]


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return os.system, (f"touch {self.sentinel}",)


def test_a_code_carrying_checkpoint_is_refused_and_nothing_runs(env):
    folder, ws, _ = env
    sentinel = ws / "sentinel"
    evil = ws / "evil.pth"
    torch.save({"config": _Evil(sentinel), "state_dict": {}}, evil)
    at = _import(_train_page(), evil, folder)
    assert any("Import refused" in e.value and "refusing" in e.value for e in at.error)
    assert not sentinel.exists()


def test_importing_needs_an_admin_when_roles_are_configured(env, monkeypatch):
    monkeypatch.setenv("RECLENS_ADMIN_TOKEN", "s3cret")
    at = _train_page()
    assert at.button(key="im_go").disabled
    assert not [w for w in at.text_input if w.key == "im_path"]
