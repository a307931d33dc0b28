"""An artifact's origin: read from meta.json, absent on artifacts trained here."""

from __future__ import annotations

import pytest

from core.store.origin import CHECKPOINT, Origin, origin_label, origin_of


def test_an_artifact_without_an_origin_was_trained_here():
    origin = origin_of({"model": "kgat"})
    assert not origin.imported
    assert origin_label({"model": "kgat"}) == ""


def test_an_imported_origin_round_trips_through_meta_and_labels_itself():
    origin = Origin(kind=CHECKPOINT, library="RecBole", version="1.2.1", model="LightGCN")
    meta = {"origin": origin.to_meta()}
    assert origin_of(meta) == origin
    assert origin_label(meta) == "RecBole 1.2.1 LightGCN"
    summary = Origin(kind="surrogate", summary="surrogate of lists, 0.81@10")
    assert origin_label({"origin": summary.to_meta()}) == "surrogate of lists, 0.81@10"


def test_an_unknown_origin_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="'pickle'"):
        origin_of({"origin": {"kind": "pickle"}})
