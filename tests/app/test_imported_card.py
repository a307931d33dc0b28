"""An imported model's card says what it explains: the card of an embeddings artifact carries
the score rule and how its re-fits work (core.store.caption), as text; a surrogate's states its
agreement; a model trained here carries nothing extra."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.explanation_card import CardParts
from core.data import load_dataset
from core.safe_text import md
from core.store.artifacts import load_artifact
from core.store.caption import REFIT_NOTE, origin_caption
from core.store.imported import import_embeddings
from core.store.layout import artifact_folder
from core.store.origin import Origin
from tests.app.conftest import MAIN

LIBRARY = "Sys *x* ![i](http://example.com/i.png)"  # data text: must stay text on the card


def test_captions_by_origin():
    assert origin_caption({"model": "kgat"}) == ""
    sur = Origin(
        kind="surrogate",
        model="lightgcn",
        measured={"agreement@10": 0.8123, "rank_corr": 0.9, "heldout_users": 94},
    )
    text = origin_caption({"origin": sur.to_meta()})
    assert text.startswith("Explains a surrogate that agrees 0.81@10 with your lists")
    assert "94 held-out users" in text and "measure the surrogate" in text
    emb = Origin(kind="embeddings", settings={"score": "cosine"})
    assert origin_caption({"origin": emb.to_meta()}) == (
        f"Explains imported embeddings (cosine). Re-fits: {REFIT_NOTE}."
    )


def test_card_parts_default_to_no_origin_line():
    assert CardParts().origin == ""


@pytest.fixture(scope="module")
def imported_ws(tiny_env, tmp_path_factory):
    """A copy of the tiny workspace plus an embeddings artifact made from its BPR-MF tables,
    written to files as another system would."""
    root = tmp_path_factory.mktemp("imported")
    ws = root / "ws"
    shutil.copytree(tiny_env.workspace, ws)
    ds = load_dataset(tiny_env.data)
    mf = load_artifact(artifact_folder(ws, ds, "bprmf"), ds).model
    for name, emb, ids in (
        ("users", mf.user_emb, ds.user_ids.raw),
        ("items", mf.item_emb, ds.item_ids.raw),
    ):
        frame = pd.DataFrame(emb.weight.detach().numpy().astype(np.float64))
        frame.insert(0, "id", ids)
        frame.to_csv(root / f"{name}.csv", index=False, float_format="%.9g")
    out = artifact_folder(ws, ds, "embeddings")
    import_embeddings(ds, root / "users.csv", root / "items.csv", out=out, library=LIBRARY)
    return ws, ds


def test_the_user_explorer_card_of_imported_embeddings_says_so(imported_ws, monkeypatch):
    ws, ds = imported_ws
    monkeypatch.setenv("RECLENS_WORKSPACE", str(ws))
    at = AppTest.from_file(MAIN, default_timeout=180)
    user = ds.user_ids.to_raw(3)
    at.query_params.update(page="user_explorer", model="embeddings", user=user, method="influence")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    line = [c for c in captions if c.startswith("Explains imported embeddings")]
    assert line, captions
    assert md(REFIT_NOTE) in line[0] and md("(dot)") in line[0]
    assert r"Sys \*x\* \!\[i\]" in line[0]  # the library name is escaped, never rendered
    # the rest of the card is there: the deletion curve of the re-fitted user vector
    assert len(at.get("plotly_chart")) >= 1
    assert any(c.startswith("Removing the 3 history items") for c in captions), captions
