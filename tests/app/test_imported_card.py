"""An imported model's card says what it explains: the card of an embeddings artifact carries
the score rule and how its re-fits work (core.store.caption), as text; a surrogate's states its
agreement; a model trained here carries nothing extra."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

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
from tests.app.conftest import MAIN, ROOT
from tests.app.test_browser import ARGS, CHROMIUM, Guarded, _free_port, wait_until_serving

LABEL = "embeddings, dot"  # the origin label the model lists show
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
    # an imported model is listed under its origin label (core.store.workspace.models_for)
    at.query_params.update(page="user_explorer", model=LABEL, user=user, method="influence")
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


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin")
def test_the_imported_card_in_chromium(imported_ws, tiny_env):
    """The launched dashboard draws an imported model's whole card: its origin line, the
    influence contributions, the deletion curve of the re-fitted user vector and the
    counterfactual, with nothing fetched off localhost."""
    from playwright.sync_api import sync_playwright

    ws, ds = imported_ws
    port = _free_port()
    env = {**os.environ, **tiny_env.env, "RECLENS_WORKSPACE": str(ws)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    cmd += ["--server.fileWatcherType", "none"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://localhost:{port}"
    try:
        wait_until_serving(proc, url, 60, lambda: proc.stderr.read().decode())
        user = ds.user_ids.to_raw(3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            guarded = Guarded(browser)
            page = guarded.page()
            link = f"{url}/?page=user_explorer&model={quote(LABEL)}&user={user}&method=influence"
            page.goto(link, wait_until="domcontentloaded")
            page.get_by_text("Explains imported embeddings", exact=False).wait_for(timeout=90_000)
            page.get_by_text("Removing the 3 history items", exact=False).wait_for(timeout=90_000)
            assert page.get_by_text(REFIT_NOTE, exact=False).count() >= 1
            assert page.get_by_text("Sys *x* ![i]", exact=False).count() >= 1  # literal text
            assert page.locator(".js-plotly-plot svg.main-svg").count() >= 1  # deletion curve
            artifacts = ROOT / "tests" / "artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "imported_card.png"), full_page=True)
            browser.close()
        assert guarded.attempted == [] and guarded.dialogs == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)
