"""An imported model's full card in the launched dashboard (headless Chromium).

A RecBole-like KGAT checkpoint (written here, no RecBole) is imported for a tiny RecBole-format
dataset; the server is launched on that workspace and the user explorer, deep-linked to the
imported model by its origin label, shows its history, its attention heatmap and its KG graph,
with no request off localhost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from core.data import load_dataset
from core.store.artifacts import load_artifact
from core.store.recbole_import import import_recbole
from core.store.workspace import mark_complete
from tests.app.conftest import ROOT
from tests.app.test_browser import (
    ARGS,
    CHROMIUM,
    Guarded,
    _free_port,
    _graph_frame,
    wait_until_serving,
)
from tests.models.test_kgat_recbole import kgat_checkpoint, kgat_folder
from tests.store.recbole_fakes import fake_recbole
from tests.store.test_recbole_import import _checkpoint

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin"),
]
LABEL = "RecBole 1.2 KGAT"


@pytest.fixture()
def imported_server(tmp_path, monkeypatch):
    fake_recbole(monkeypatch)
    folder = kgat_folder(tmp_path / "data")
    ds = load_dataset(folder, "recbole")
    ws = tmp_path / "ws"
    _, _, _, path = kgat_checkpoint(folder, ds, tmp_path / "KGAT.pth")
    result = import_recbole(path, ds, folder, ws / "imported" / "kgat")
    train = load_artifact(result.folder, ds).split.train
    busiest = int(np.bincount(train[:, 0]).argmax())  # enough history for a deletion test
    mark_complete(ws, ds)  # the dashboard trains nothing: the imported model is the only one
    env = {**os.environ, "RECLENS_WORKSPACE": str(ws), "RECLENS_DATASET": str(folder)}
    env.pop("RECLENS_DATA_ROOTS", None)
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    cmd += ["--server.fileWatcherType", "none"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://localhost:{port}"
    wait_until_serving(proc, url, 60, lambda: proc.stderr.read().decode())
    bpr, _, _ = _checkpoint(tmp_path, folder)  # for the upload test
    yield url, ds.user_ids.to_raw(busiest), folder, bpr
    proc.terminate()
    proc.wait(timeout=20)


def test_imported_model_full_card_in_chromium(imported_server):
    from playwright.sync_api import sync_playwright

    url, user, _, _ = imported_server
    shots = ROOT / "tests" / "artifacts"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        guarded = Guarded(browser)
        page = guarded.page()
        link = f"{url}/?page=user_explorer&model={quote(LABEL)}&user={user}"
        page.goto(link, wait_until="domcontentloaded")
        page.get_by_text(f"History of {user}").wait_for(timeout=90_000)
        page.get_by_text(f"Top-10 by {LABEL}").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot svg.main-svg").first.wait_for(timeout=60_000)
        assert _graph_frame(page) is not None, "vis-network canvas not found in any frame"
        page.get_by_text("Contributions").first.wait_for(timeout=60_000)
        assert page.get_by_text("No deletion test").count() == 0
        page.screenshot(path=str(shots / "imported_model_card.png"))
        browser.close()
    assert guarded.attempted == [] and guarded.dialogs == []


def test_upload_a_checkpoint_on_the_train_page(imported_server):
    from playwright.sync_api import sync_playwright

    url, _, folder, checkpoint = imported_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        guarded = Guarded(browser)
        page = guarded.page()
        page.goto(f"{url}/?page=train", wait_until="domcontentloaded")
        page.get_by_text("Import a model").wait_for(timeout=90_000)
        page.get_by_text("upload", exact=True).click()
        page.locator('input[type="file"]').last.set_input_files(str(checkpoint))
        page.get_by_text("BPR.pth").wait_for(timeout=30_000)
        box = page.get_by_label(
            "Dataset folder (RecBole atomic files the checkpoint was trained on)"
        )
        box.fill(str(folder))
        box.press("Enter")
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("Imported RecBole 1.2 BPR").wait_for(timeout=90_000)
        # the parity figures' table (a canvas grid: its cells are in the DOM, not visible)
        cell = page.locator("td[role=gridcell]", has_text="valid difference")
        cell.wait_for(state="attached", timeout=30_000)
        page.screenshot(path=str(ROOT / "tests" / "artifacts" / "imported_upload.png"))
        browser.close()
    assert guarded.attempted == [] and guarded.dialogs == []
