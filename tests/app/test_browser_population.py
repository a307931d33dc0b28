"""The Population page in headless Chromium: two models side by side from their exports, then
a drill-down followed to the User explorer on that user and item; nothing leaves localhost."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.app.conftest import ROOT
from tests.app.test_browser import ARGS, CHROMIUM, Guarded, server  # noqa: F401 (fixture)
from tests.app.test_population_page import export_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin"),
]


def test_population_compare_and_drill_down_in_chromium(tiny_env, server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    for model in ("kgat", "lightgcn"):
        export_for(tiny_env, model)
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        guarded = Guarded(browser)
        page = guarded.page()
        page.goto(f"{server}/?page=population&models=kgat,lightgcn", wait_until="domcontentloaded")
        page.get_by_text("Headline figures").wait_for(timeout=120_000)
        for label in ("KGAT", "LightGCN"):  # both models' panels, each with its export's age
            page.get_by_text(f"Export of {label}: weights", exact=False).wait_for(timeout=30_000)
        page.locator(".js-plotly-plot svg.main-svg").first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "population.png"), full_page=True)

        button = page.get_by_role("button", name="in the User explorer").first
        label = button.inner_text()
        user = label.split("Open user ", 1)[1].split(", recommendation", 1)[0]
        button.click()
        page.get_by_text(f"History of {user}").wait_for(timeout=120_000)
        page.locator('[data-testid="stText"]', has_text="page=user_explorer").last.wait_for(
            timeout=60_000
        )
        link = page.locator('[data-testid="stText"]', has_text="?page=").last.inner_text()
        assert urlencode({"user": user}) in link and "model=kgat" in link and "item=" in link
        page.screenshot(path=str(artifacts / "population_drill_down.png"))
        browser.close()
    assert guarded.attempted == [], f"requests left localhost: {guarded.attempted}"
    assert guarded.dialogs == [], f"a hostile string ran script: {guarded.dialogs}"
