"""The Population page (AppTest from app/main.py): the background export from the page, two
models side by side, a drill-down into the User explorer, a stale export refused; and the
Compare page's trade-off chart read from the exports, with no toggle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import population  # the page's own module: the job registry lives there
from core.cli.main import main
from core.data import load_dataset
from core.store.layout import artifact_folder
from tests.app.conftest import MAIN

USERS = 12  # users per test export: enough for every figure, quick on the tiny dataset


def export_for(tiny_env, model: str, users: int = USERS) -> Path:
    """Export `model`'s first users into the folder the page reads (app.population)."""
    ds = load_dataset(tiny_env.data)
    art = artifact_folder(tiny_env.workspace, ds, model)
    out = tiny_env.workspace / "exports" / art.parent.name / art.name
    if (out / "manifest.json").is_file():
        return out
    raw = ",".join(ds.user_ids.raw[:users])
    args = ["explain-all", str(art), "--out", str(out), "--users", raw, "-k", "10"]
    assert main([*args, "--fidelity-sample", "4", "--random-draws", "1"]) == 0
    return out


def _app(**params) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def exports(tiny_env):
    return {m: export_for(tiny_env, m) for m in ("kgat", "lightgcn")}


def test_two_models_side_by_side_and_a_drill_down_to_the_user_explorer(tiny_env, exports):
    at = _app(page="population", models="kgat,lightgcn")
    assert [s.value for s in at.subheader][:3] == ["KGAT", "LightGCN", "Headline figures"]
    head = at.dataframe[0].value
    assert list(head.columns) == ["figure", "KGAT", "LightGCN"]
    recs = head.set_index("figure").loc["recommendations"]
    assert recs["KGAT"] == f"{USERS * 10} ({USERS} users)" == recs["LightGCN"]
    options = at.selectbox(key="pop_drill").options
    assert any("KGAT: driver entity" in o for o in options)
    assert any("LightGCN: driver history item" in o for o in options)
    examples = at.dataframe[-1].value
    assert len(examples) >= 1 and {"user", "item", "rank"} <= set(examples.columns)
    first = examples.iloc[0]
    at.button(key="pop-open-0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "User explorer"
    assert any(s.value.startswith(f"History of {first['user']}") for s in at.subheader)
    picked = [s for s in at.selectbox if s.label == "Recommendation"][0]
    assert picked.value == first["item"]


def test_the_page_exports_in_the_background_and_shows_the_figures(tiny_env):
    # BPR-MF: no other test exports it, and test_pages deletes MostPop from the shared workspace
    at = _app(page="population", models="bprmf")
    assert any("no export yet" in i.value for i in at.info)
    at.button(key="pop-export-bprmf").click().run()
    ds = load_dataset(tiny_env.data)
    job = population.job(artifact_folder(tiny_env.workspace, ds, "bprmf"))
    assert job is not None and job.done.wait(300), "the export did not finish"
    assert job.error is None, job.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    head = at.dataframe[0].value.set_index("figure")
    assert head.loc["recommendations", "BPR-MF"].endswith(f"({ds.n_users} users)")
    # the label is Markdown-escaped on the page ("BPR\\-MF")
    assert any(c.value.startswith("Export of BPR") and "weights" in c.value for c in at.caption)


def test_an_export_of_other_weights_is_refused(tiny_env, exports):
    manifest = exports["kgat"] / "manifest.json"
    original = manifest.read_text()
    data = json.loads(original)
    data["source"]["weights"] = "0123456789abcdef"
    manifest.write_text(json.dumps(data))
    try:
        at = _app(page="population", models="kgat")
        assert any("made from other weights" in e.value for e in at.error)
        assert not [s for s in at.subheader if s.value == "Headline figures"]
        assert at.button(key="pop-export-kgat").label == "Export again"
    finally:
        manifest.write_text(original)


def test_compare_tradeoff_chart_reads_the_exports_without_a_toggle(tiny_env, exports):
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update(page="compare", models="kgat,lightgcn,attention")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.toggle  # no toggle: the chart shows at once
    points = next(d.value for d in at.dataframe if "deletion ratio@3" in d.value.columns)
    assert set(points["model"]) == {"KGAT", "LightGCN"} and (points["users"] == USERS).all()
    assert any(c.value.startswith("Attention: no export yet") for c in at.caption)
