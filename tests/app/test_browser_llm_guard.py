"""Issue 28 in a launched dashboard and headless Chromium: on a team server (admin token and
API key set) a visitor cannot aim the server's language-model client at a listener of their
choosing, the listener never sees the key, nothing it answers reaches the page; after signing in
with the token an admin can set the endpoint (and it still gets no key)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.app.conftest import ROOT
from tests.app.test_browser import (
    ARGS,
    CHROMIUM,
    Guarded,
    _free_port,
    _wait_for_link,
    wait_until_serving,
)
from tests.narrate.probe_server import SECRET, ProbeServer

KEY = "sk-browser-secret-28"
TOKEN = "let-me-in"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin"),
]


@pytest.fixture()
def team_server(tiny_env):
    port = _free_port()
    env = {**os.environ, **tiny_env.env, "RECLENS_ADMIN_TOKEN": TOKEN,
           "RECLENS_LLM_API_KEY": KEY, "RECLENS_LLM_BASE_URL": "http://127.0.0.1:9/v1",
           "RECLENS_LLM_MODEL": "server-model"}  # fmt: skip
    env.pop("RECLENS_LLM_ALLOWED_URLS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://localhost:{port}"
    wait_until_serving(proc, url, 60, lambda: proc.stderr.read().decode())
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _open_llm_panel(page):
    """The sidebar's "Language model" expander, opened (a rerun may close it again)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    panel = sidebar.locator('[data-testid="stExpander"]', has_text="Language model").last
    panel.wait_for(timeout=90_000)
    if panel.locator("details").get_attribute("open") is None:  # closed: open it
        panel.locator("summary").click()
    panel.get_by_role("button", name="Test connection").wait_for(timeout=30_000)
    return panel


def _test_connection(page, *expected: str) -> str:
    """Click "Test connection" and return the status line that appears (one of `expected`)."""
    _open_llm_panel(page).get_by_role("button", name="Test connection").click()
    deadline = time.time() + 30
    while time.time() < deadline:
        sidebar = _open_llm_panel(page)
        for text in expected:
            found = sidebar.get_by_text(text, exact=False)
            if found.count() and found.first.is_visible():
                return found.first.inner_text()
        page.wait_for_timeout(300)
    pytest.fail(f"no status line among {expected}")


def _aim(page, url: str) -> None:
    """Type an endpoint and a model as a user would (Enter commits a Streamlit text input)."""
    for label, value in (("Endpoint (API root)", url), ("Model", "any")):
        field = _open_llm_panel(page).get_by_label(label, exact=True).last  # a rerun's stale copy
        field.fill(value)
        field.press("Enter")
        page.wait_for_timeout(500)


def test_visitor_then_admin_in_chromium(team_server):
    from playwright.sync_api import sync_playwright

    with ProbeServer() as probe, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        guarded = Guarded(browser)
        page = guarded.page()
        page.goto(f"{team_server}/?page=overview", wait_until="domcontentloaded")
        _wait_for_link(page, "overview")
        sidebar = _open_llm_panel(page)
        visitor_can_type = sidebar.get_by_label("Endpoint (API root)").count() > 0
        if visitor_can_type:  # today's code: what any visitor could do
            _aim(page, probe.url)
        _test_connection(page, "answer")
        visitor_keys, visitor_requests = probe.keys_seen(), len(probe.requests)
        visitor_page = page.locator("body").inner_text()
        visitor_panel = _open_llm_panel(page).inner_text()
        assert not any(KEY in h for h in visitor_keys), "a visitor's listener got the key"
        assert SECRET not in visitor_page
        assert not visitor_can_type and visitor_requests == 0
        assert "server-model" in visitor_panel  # a visitor sees which model narrates

        page.goto(f"{team_server}/?page=train", wait_until="domcontentloaded")
        token = page.get_by_label("Admin token")
        token.wait_for(timeout=90_000)
        token.fill(TOKEN)
        token.press("Enter")
        _open_llm_panel(page).get_by_label("Endpoint (API root)").wait_for(timeout=30_000)
        _aim(page, probe.url)
        admin_status = _test_connection(page, "The endpoint answers", "does not answer")
        page.screenshot(path=str(ROOT / "tests" / "artifacts" / "llm_guard_admin.png"))
        admin_page = page.locator("body").inner_text()
        browser.close()

    assert "The endpoint answers" in admin_status
    assert [r["path"] for r in probe.requests] == ["/v1/models"]  # the admin's test only
    assert probe.keys_seen() == [] and SECRET not in admin_page
    assert guarded.attempted == [] and guarded.dialogs == []
