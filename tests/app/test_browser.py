"""The launched dashboard in headless Chromium: deep link, heatmap, KG graph, feedback, offline.

Starts `python -m streamlit run app/main.py` on a free port over the session's tiny trained
workspace (hostile titles included), opens a user-explorer deep link, checks that the plotly
heatmap (SVG) and the vis-network graph (canvas, inside the component iframe) render, gives
feedback and finds it in the database, and blocks every non-localhost request, asserting that
none was even attempted. A screenshot goes to tests/artifacts/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from core.data import load_dataset
from core.store.feedback import feedback_frame, feedback_url, open_feedback
from tests.app.conftest import ROOT, SCRIPT

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LOCAL = {"localhost", "127.0.0.1", "::1", ""}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tiny_env):
    port = _free_port()
    env = {**os.environ, **tiny_env.env}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://localhost:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _graph_frame(page, timeout_s: float = 60):
    """The frame holding the vis-network canvas (pyvis HTML sits in the component's iframe)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for frame in page.frames:
            if frame.locator("div.vis-network canvas").count():
                return frame
        time.sleep(0.5)
    return None


def test_user_explorer_in_chromium(server, tiny_env):
    from playwright.sync_api import sync_playwright

    ds = load_dataset(tiny_env.data)
    user = ds.user_ids.to_raw(3)
    attempted, dialogs = [], []
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 2200})

        def guard(route):
            host = urlparse(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL:
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(
            f"{server}/?page=user_explorer&model=kgat&user={user}", wait_until="domcontentloaded"
        )
        page.get_by_text(f"History of {user}").wait_for(timeout=90_000)
        page.locator(".js-plotly-plot svg.main-svg").first.wait_for(timeout=60_000)
        frame = _graph_frame(page)
        assert frame is not None, "vis-network canvas not found in any frame"
        assert page.get_by_text(SCRIPT, exact=False).count() >= 1  # hostile title shown as text
        # heatmap tick labels: the escaped title is drawn as the literal text "<script>..."
        ticks = page.locator(".js-plotly-plot g.ytick text, .js-plotly-plot g.xtick text")
        assert ticks.filter(has_text="<script>").count() >= 1
        assert page.locator(".js-plotly-plot script, .js-plotly-plot img").count() == 0
        page.screenshot(path=str(artifacts / "user_explorer.png"))

        page.get_by_label("Comment (optional)").fill("browser says hi")
        page.get_by_role("button", name="Helpful", exact=True).click()
        page.get_by_text("feedback saved").wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "user_explorer_feedback.png"))
        browser.close()

    rows = feedback_frame(open_feedback(feedback_url(tiny_env.workspace)))
    mine = rows[rows["comment"] == "browser says hi"]
    assert len(mine) == 1 and mine.iloc[0]["user"] == user and mine.iloc[0]["vote"] == 1
    assert attempted == [], f"requests left localhost: {attempted}"
    assert dialogs == [], f"a hostile title ran script: {dialogs}"
