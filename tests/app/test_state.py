"""Widget state that cannot go stale, and share links that carry the whole view (AppTest)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from app.selection import context_key, derive
from core.data import load_dataset
from core.store.feedback import feedback_frame, feedback_url, open_feedback
from tests.app.conftest import MAIN


def test_derive_prefers_link_then_previous_then_first():
    assert derive("b", ["a", "b"], link="a") == "a"
    assert derive("b", ["a", "b"], link="zz") == "b"
    assert derive("gone", ["a", "b"]) == "a"
    assert derive("x", []) is None


def test_context_key_changes_with_any_part_of_the_context():
    assert context_key("ue_item", "m", 1, 10) == context_key("ue_item", "m", 1, 10)
    keys = {context_key("ue_item", *c) for c in [("m", 1, 10), ("n", 1, 10), ("m", 2, 10)]}
    assert len(keys) == 3


@pytest.fixture(scope="module")
def ds(tiny_env):
    return load_dataset(tiny_env.data)


def _app(**params) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _one(widgets, label):
    found = [w for w in widgets if w.label == label]
    assert len(found) == 1
    return found[0]


def _link(at) -> dict[str, str]:
    query = urlparse(at.text[-1].value).query
    return {k: v[0] for k, v in parse_qs(query).items()}


def test_picker_card_and_link_show_one_item_after_a_model_change(tiny_env, ds):
    user = ds.user_ids.to_raw(3)
    at = _app(page="user_explorer", model="attention", user=user)
    fourth = at.dataframe[1].value["item"].iat[3]
    _one(at.selectbox, "Recommendation").set_value(fourth).run()
    assert _link(at)["item"] == fourth
    at.selectbox(key="model").set_value("bprmf").run()
    assert not at.exception
    picker = _one(at.selectbox, "Recommendation")
    recs = list(at.dataframe[1].value["item"])
    assert picker.value in recs
    assert _link(at)["item"] == picker.value and _link(at)["model"] == "bprmf"
    method = _one(at.radio, "Explain by").value
    assert method is not None and _link(at)["method"] == method


def test_a_comment_typed_for_one_user_is_not_saved_with_another_users_vote(tiny_env, ds):
    at = _app(page="user_explorer", model="kgat", user=ds.user_ids.to_raw(5))
    box = _one(at.text_input, "Comment (optional)")
    box.input("only about user five")  # typed, never sent
    at.selectbox(key="ue_user").set_value(ds.user_ids.to_raw(6)).run()
    box = _one(at.text_input, "Comment (optional)")
    assert box.value == ""
    helpful = [b for b in at.button if b.label == "Helpful"]
    helpful[0].click().run()
    assert not at.exception
    rows = feedback_frame(open_feedback(feedback_url(tiny_env.workspace)))
    last = rows.iloc[-1]
    assert last["user"] == ds.user_ids.to_raw(6) and last["comment"] == ""
    assert "only about user five" not in set(rows["comment"])


def test_user_explorer_link_carries_the_whole_view_and_restores_it(tiny_env, ds):
    user = ds.user_ids.to_raw(2)
    at = _app(page="user_explorer", model="kgat", user=user, k="7")
    third = at.dataframe[1].value["item"].iat[2]
    _one(at.selectbox, "Recommendation").set_value(third).run()
    link = _link(at)
    assert link["dataset"] == ds.name and str(tiny_env.data) not in at.text[-1].value
    assert (link["model"], link["user"], link["k"]) == ("kgat", user, "7")
    assert link["item"] == third and link["method"]
    again = _app(**link)
    assert _one(again.selectbox, "Recommendation").value == link["item"]
    assert _one(again.radio, "Explain by").value == link["method"]
    assert again.slider(key="ue_k").value == 7
    assert _link(again) == link


def test_compare_link_carries_the_model_set_and_k(tiny_env, ds):
    at = _app(page="compare", models="attention,kgat", k="6", user=ds.user_ids.to_raw(4))
    assert at.multiselect(key="cmp_models").value == ["attention", "kgat"]
    assert at.slider(key="cmp_k").value == 6
    link = _link(at)
    assert link["models"] == "attention,kgat" and link["k"] == "6" and link["dataset"] == ds.name
    bad = _app(page="compare", models="kgat,nosuch")
    assert any("nosuch" in e.value for e in bad.error)


def test_the_card_graph_tooltips_name_items_by_title_and_raw_id(tiny_env, ds):
    at = _app(page="user_explorer", model="kgat", user=ds.user_ids.to_raw(3))
    doc = at.get("iframe")[0].proto.srcdoc
    raw = _link(at)["item"]  # the recommended item the card explains
    assert f"({raw})" in doc and "user " + ds.user_ids.to_raw(3)[:4] in doc
