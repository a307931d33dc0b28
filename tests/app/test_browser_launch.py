"""Launching a new item in the launched dashboard (issue 27): a share link that defines the
item (title and KG attributes) opens the Profile builder on its audience; the test picks one
audience member other than the first and waits for that member's whole card (sentence through
the shared entity, paths, graph). Runs the bundled sample's KGAT over a fresh workspace, as
test_browser_demo does; a screenshot goes to tests/artifacts/."""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode

import pytest

from core.store import workspace as core_ws
from tests.app.conftest import ROOT
from tests.app.test_browser import ARGS, CHROMIUM
from tests.app.test_browser_demo import _canvas_drawn, _shoot, fresh_server  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin"),
    pytest.mark.skipif(
        not (core_ws.BUNDLE / "kgat" / "meta.json").is_file(),
        reason="the bundled sample models are missing (make sample-models)",
    ),
]
TITLE = "Lanterns of Redwater"
ATTRS = "directed_by=Mara Lindqvist;genre=Family"


def test_a_launched_item_shows_its_audience_and_a_members_card(fresh_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    query = urlencode({"page": "profile_builder", "model": "kgat", "half": "item",
                       "title": TITLE, "attr": ATTRS})  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 2400}).new_page()
        url, _, _, log = fresh_server()
        page.goto(f"{url}/?{query}", wait_until="domcontentloaded")
        page.get_by_text("Enters the top-10 of").wait_for(timeout=240_000)
        picker = page.locator('[data-testid="stSelectbox"]').filter(
            has_text="Why would this user take it?"
        )
        label = "Why would this user take it?"

        def chosen() -> str:  # drawn as text, or held as the combobox input's value
            text = picker.inner_text().replace(label, "")
            return (text + " " + picker.locator("input").first.input_value()).strip()

        first = chosen()
        picker.locator("input").click()
        page.keyboard.press("ArrowDown")  # from the most likely user to the next one
        page.keyboard.press("Enter")
        deadline = time.time() + 60
        while chosen() == first and time.time() < deadline:
            page.wait_for_timeout(200)
        who = chosen()
        assert who != first and who.startswith("u"), (first, who)
        sentence = page.get_by_text(f'like "{TITLE}"').first
        sentence.wait_for(timeout=120_000)
        # the card is this member's: its top path leaves from them
        page.get_by_text(f"user {who} —interacted→").first.wait_for(timeout=120_000)
        page.get_by_text("Top paths", exact=True).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert _canvas_drawn(page), "the card's KG graph did not draw"
        assert "Mara Lindqvist" in sentence.inner_text() or "Family" in sentence.inner_text()
        shots = ROOT / "tests" / "artifacts"
        shots.mkdir(parents=True, exist_ok=True)
        _shoot(page, shots / "launch_audience_card.png")
        browser.close()
    assert "Traceback" not in log.read_text()
