"""Who may do what on a team server: the data-folder allow-list and the admin role."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.auth import token_matches
from app.data_roots import check_folder, data_roots
from core.data import DataError
from core.store.artifacts import list_artifacts
from tests.app.conftest import MAIN


def test_folders_outside_the_allow_list_are_refused(tmp_path, monkeypatch):
    inside, outside = tmp_path / "data" / "ml", tmp_path / "elsewhere"
    inside.mkdir(parents=True)
    outside.mkdir()
    monkeypatch.setenv("RECLENS_DATA_ROOTS", str(tmp_path / "data"))
    roots = data_roots(tmp_path / "ws", "sample")
    assert roots == [(tmp_path / "data").resolve()]
    assert check_folder(str(inside), roots) == str(inside)
    assert check_folder("sample", roots) == "sample"
    for bad in (str(outside), str(inside / ".." / ".." / "elsewhere"), "/etc"):
        with pytest.raises(DataError, match="outside the folders this server may load"):
            check_folder(bad, roots)
    (tmp_path / "data" / "link").symlink_to(outside)  # a link out of a root is outside too
    with pytest.raises(DataError, match="outside"):
        check_folder(str(tmp_path / "data" / "link"), roots)


def test_default_roots_hold_sample_workspace_and_shared_datasets(tmp_path, monkeypatch):
    monkeypatch.delenv("RECLENS_DATA_ROOTS", raising=False)
    (tmp_path / "ws").mkdir()
    roots = data_roots(tmp_path / "ws", "sample")
    root = Path(__file__).resolve().parents[2]
    assert (root / "sample_data").resolve() in roots and (tmp_path / "ws").resolve() in roots
    shared = (root.parent / "shared" / "datasets").resolve()
    assert (shared in roots) == shared.exists()


def test_token_comparison():
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret") and not token_matches("", "")


def _train_page():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["page"] = "train"
    return at.run()


def test_train_page_refuses_a_folder_outside_the_allow_list(tiny_env, monkeypatch, tmp_path):
    monkeypatch.setenv("RECLENS_DATA_ROOTS", str(tiny_env.workspace))
    at = _train_page()
    at.radio(key="tr_source").set_value("folder path").run()
    at.text_input(key="tr_folder").input(str(tiny_env.data)).run()  # a real dataset, not allowed
    assert any("outside the folders this server may load" in e.value for e in at.error)
    assert at.button(key="tr_go").disabled


def test_with_an_admin_token_only_an_admin_may_train_or_delete(tiny_env, monkeypatch):
    monkeypatch.setenv("RECLENS_ADMIN_TOKEN", "let-me-in")
    at = _train_page()
    assert not at.exception
    assert at.button(key="tr_go").disabled
    assert any("need to be an administrator" in i.value for i in at.info)
    doomed = str(list_artifacts(tiny_env.workspace)[0].path)
    at.selectbox(key="tr_del").set_value(doomed).run()
    assert at.button(key="tr_del_go").disabled
    at.text_input(key="admin_token").input("wrong").run()
    assert any("not right" in e.value for e in at.error) and at.button(key="tr_go").disabled
    at.text_input(key="admin_token").input("let-me-in").run()
    assert not at.button(key="tr_go").disabled
    assert not at.button(key="tr_del_go").disabled
    assert Path(doomed).is_dir()  # nothing was deleted while locked out


def test_train_page_takes_the_cli_lock(tiny_env):
    from app import workspace
    from core.data import load_dataset
    from core.store.artifacts import artifact_lock

    folder = workspace.artifact_folder(load_dataset(tiny_env.data), "lightgcn")
    before = (folder / "meta.json").stat().st_mtime_ns
    at = _train_page()
    at.selectbox(key="tr_model").set_value("lightgcn").run()
    at.number_input(key="tr_epochs").set_value(1).run()
    with artifact_lock(folder):  # a CLI run (or another session) is writing this artifact
        at.button(key="tr_go").click().run()
    assert not at.exception
    assert any("another training" in e.value for e in at.error)
    assert (folder / "meta.json").stat().st_mtime_ns == before


def test_mode_is_open_without_configuration_token_or_oidc_with(monkeypatch):
    from app import auth

    monkeypatch.delenv("RECLENS_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("RECLENS_ADMINS", raising=False)
    monkeypatch.setattr(auth, "_oidc_configured", lambda: False)
    assert auth.mode() == "open"
    monkeypatch.setenv("RECLENS_ADMIN_TOKEN", "t")
    assert auth.mode() == "token"
    monkeypatch.setattr(auth, "_oidc_configured", lambda: True)
    assert auth.mode() == "token"  # OIDC without an admin list would lock everyone out
    monkeypatch.setenv("RECLENS_ADMINS", "Ann@Example.org, bob@example.org")
    assert auth.mode() == "oidc" and auth.admin_emails() == {"ann@example.org", "bob@example.org"}
