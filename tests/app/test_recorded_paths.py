"""Issue 28, point 4: a dataset path recorded in an artifact's meta.json is data, not server
configuration. An uploaded zip lands one level under the workspace, where list_artifacts finds a
meta.json; on a team server the Dataset picker must not offer the folder it names unless it is
inside the data roots (as a typed folder must be)."""

from __future__ import annotations

import json

import pytest

from app import workspace


def _planted(ws, target) -> None:
    """What a zip holding meta.json + metrics.json leaves under workspace/uploads/."""
    folder = ws / "uploads" / "evil-0123abcd"
    folder.mkdir(parents=True)
    meta = {"model": "kgat", "dataset": {"name": "x", "path": str(target)}}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "metrics.json").write_text("{}")


@pytest.mark.parametrize("team", ["RECLENS_ADMIN_TOKEN", "RECLENS_DATA_ROOTS"])
def test_a_recorded_path_outside_the_data_roots_is_not_offered(tmp_path, monkeypatch, team):
    ws, outside = tmp_path / "ws", tmp_path / "elsewhere"
    outside.mkdir()
    _planted(ws, outside)
    monkeypatch.setenv("RECLENS_WORKSPACE", str(ws))
    monkeypatch.setenv("RECLENS_DATASET", "sample")
    monkeypatch.delenv("RECLENS_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("RECLENS_DATA_ROOTS", raising=False)
    assert str(outside) in workspace.dataset_paths()  # a laptop: unchanged
    monkeypatch.setenv(team, "tok" if team == "RECLENS_ADMIN_TOKEN" else str(ws))
    assert workspace.dataset_paths() == ["sample"]
    inside = ws / "data"
    inside.mkdir()
    (ws / "uploads" / "evil-0123abcd" / "meta.json").write_text(
        json.dumps({"model": "kgat", "dataset": {"name": "x", "path": str(inside)}})
    )
    assert workspace.dataset_paths() == ["sample", str(inside)]  # inside the roots: offered
