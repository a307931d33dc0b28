"""Newcomer-facing behaviour: the first launch survives interruptions, KGAT is the default, the
leaderboard reads best-first, and the profile builder re-ranks an edited history."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.data import load_dataset
from core.store import workspace as core_ws
from tests.app.conftest import MAIN

DEFAULT = set(core_ws.DEFAULT_MODELS)


def _app(**params) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def ds(tiny_env):
    return load_dataset(tiny_env.data)


def _fresh(tmp_path, monkeypatch, tiny_env, ds, keep=()):
    """An empty workspace on the tiny dataset holding only the artifacts in `keep`, copied from
    the session's workspace (what an interrupted launch leaves: some models, no marker)."""
    ws = tmp_path / "ws"
    for model in keep:
        src = core_ws.artifact_folder(tiny_env.workspace, ds, model)
        shutil.copytree(src, core_ws.artifact_folder(ws, ds, model))
    monkeypatch.setenv("RECLENS_WORKSPACE", str(ws))
    return ws


def test_an_interrupted_first_launch_resumes_instead_of_counting_as_done(
    tmp_path, monkeypatch, tiny_env, ds
):
    ws = _fresh(tmp_path, monkeypatch, tiny_env, ds, keep=("bprmf",))
    at = _app()
    assert set(core_ws.models_for(ws, ds)) == DEFAULT  # the old launch stopped at BPR-MF
    assert any("First launch done" in i.value for i in at.info)
    assert not at.get("progress")  # the bar is gone once done
    again = _app()
    assert not any("First launch" in i.value for i in again.info)  # the notice goes away


def test_leaving_the_page_during_the_first_launch_loses_nothing(
    tmp_path, monkeypatch, tiny_env, ds
):
    """The first session's script run is cut short (as a click on another page does); the
    launch goes on in the background and a second session finds every model, each trained
    once."""
    ws = _fresh(tmp_path, monkeypatch, tiny_env, ds)
    # Hold the launch's first training until the first run has given up, so the run is cut
    # short on any machine (a fast one used to finish the tiny launch within the timeout).
    gate, train = threading.Event(), core_ws.train_default

    def held_train(*args, **kwargs):
        gate.wait(timeout=120)
        return train(*args, **kwargs)

    monkeypatch.setattr(core_ws, "train_default", held_train)
    first = AppTest.from_file(MAIN, default_timeout=0.5)
    try:
        with pytest.raises(RuntimeError):  # AppTest gives up on the run: the session is gone
            first.run()
    finally:
        gate.set()
    second = _app(page="user_explorer")
    assert set(core_ws.models_for(ws, ds)) == DEFAULT
    assert second.selectbox(key="model").value == "kgat"
    created = [
        (core_ws.artifact_folder(ws, ds, m) / "meta.json").stat().st_mtime_ns for m in DEFAULT
    ]
    time.sleep(0.5)
    _app()
    after = [(core_ws.artifact_folder(ws, ds, m) / "meta.json").stat().st_mtime_ns for m in DEFAULT]
    assert created == after  # nothing retrained by later runs
    assert core_ws.first_launch_complete(ws, ds)


def test_kgat_is_the_default_model_and_its_card_is_complete(tiny_env, ds):
    at = _app(page="user_explorer")
    assert at.selectbox(key="model").value == "kgat"
    assert next(r for r in at.radio if r.label == "Explain by").value == "paths"
    captions = [c.value for c in at.caption]
    assert "Top paths" in captions and "Knowledge-graph evidence" in captions
    assert any("Deletion curve" in str(c.proto.spec) for c in at.get("plotly_chart"))
    # no internal node ids anywhere in the tables
    text = " ".join(
        str(v) for d in at.dataframe for col in d.value.columns for v in d.value[col].tolist()
    )
    assert "i:" not in text and "u:" not in text and "e:" not in text


def test_overview_leaderboard_reads_best_first(tiny_env, ds):
    at = _app(page="overview")
    board = at.dataframe[0].value
    assert list(board.columns[:3]) == ["model", "recall@20", "ndcg@20"]
    assert board["ndcg@20"].is_monotonic_decreasing
    shown = core_ws.models_for(tiny_env.workspace, ds)
    assert set(board["model"]) == {core_ws.label(m) for m in shown}


def test_profile_builder_adds_removes_and_reranks(tiny_env, ds):
    at = _app(page="profile_builder", model="attention")
    assert any("empty" in c.value for c in at.caption)
    first_title = ds.title(0)
    at.text_input(key="pb_query").input(first_title[:12]).run()
    at.button(key="pb_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value == "Profile (1 item)"
    second_title = ds.title(5)
    at.text_input(key="pb_query").input(second_title[:12]).run()
    at.button(key="pb_add").click().run()
    recs = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert len(recs) == 10 and not {ds.item_ids.to_raw(0), ds.item_ids.to_raw(5)} & set(
        recs["item"]
    )
    assert at.selectbox(key="pb_why").value in set(ds.item_ids.to_internal(r) for r in recs["item"])
    at.multiselect(key="pb_rm").set_value([0]).run()
    at.button(key="pb_rm_go").click().run()
    assert not at.exception
    assert at.session_state[f"pb_profile-{ds.fingerprint()}"] == [5]
    changed = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert not changed["item"].equals(recs["item"]) or not changed["score"].equals(recs["score"])


def test_profile_builder_says_when_the_history_does_not_matter(tmp_path, monkeypatch, tiny_env, ds):
    ws = _fresh(tmp_path, monkeypatch, tiny_env, ds)
    core_ws.train_default(ws, ds, str(tiny_env.data), "mostpop", fast=True)  # instant
    core_ws.mark_complete(ws, ds)
    at = _app(page="profile_builder", model="mostpop")
    at.text_input(key="pb_query").input(ds.title(0)[:12]).run()
    at.button(key="pb_add").click().run()
    assert any("gives everyone the same list" in i.value for i in at.info)


def test_profile_builder_keeps_the_new_user_in_the_link_and_two_starts_agree(tiny_env, ds):
    raw = ",".join(ds.item_ids.to_raw(i) for i in (0, 5))
    at = _app(page="profile_builder", model="lightgcn", half="user", profile=raw)
    assert at.session_state[f"pb_profile-{ds.fingerprint()}"] == [0, 5]
    recs = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert at.query_params["profile"] == [raw] or at.query_params["profile"] == raw
    again = _app(page="profile_builder", model="lightgcn", half="user", profile=raw)
    same = next(d.value for d in again.dataframe if "score" in d.value.columns)
    assert same["item"].tolist() == recs["item"].tolist()


def test_profile_builder_launches_an_item_and_shows_an_audience_card(tiny_env, ds):
    rel = ds.relation_names[0]
    kg = ds.kg[ds.kg["relation"] == 0]
    entity = ds.entity_names[int(kg["tail"].iloc[0])]
    at = _app(page="profile_builder", model="kgat", half="item", title="Brand <new>",
              attr=f"{rel}={entity}")  # fmt: skip
    assert at.session_state["pb_title"] == "Brand <new>"
    assert any(m.label.startswith("Enters the top-10") for m in at.metric)
    who = at.selectbox(key="pb_aud")
    assert who.value in set(ds.user_ids.raw)
    sentences = [str(m.value) for m in at.markdown if "Brand" in str(m.value)]
    assert sentences, [str(m.value) for m in at.markdown]
    assert "<new>" not in " ".join(sentences)  # data text is escaped, never HTML
