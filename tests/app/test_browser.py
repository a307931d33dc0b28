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


def wait_until_serving(proc: subprocess.Popen, url: str, seconds: float, output) -> None:
    """Poll the launched server's health endpoint; on a timeout kill it and fail the test with
    the tail of `output()` (its log)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"server did not start: {output()[-2000:]}")


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
    wait_until_serving(proc, url, 60, lambda: proc.stderr.read().decode())
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


class Guarded:
    """A Chromium context that aborts and records every request off localhost, and records
    every JavaScript dialog (a hostile string that ran as script would open one)."""

    def __init__(self, browser, **context_args):
        self.attempted: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 2000}, **context_args)
        self.context.route("**/*", self._guard)

    def _guard(self, route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL:
            route.continue_()
        else:
            self.attempted.append(route.request.url)
            route.abort()

    def page(self):
        page = self.context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        return page


def _link_text(page) -> str:
    # the share link is the page's last plain-text element naming a page
    return page.locator('[data-testid="stText"]', has_text="?page=").last.inner_text()


def _wait_for_link(page, name: str, timeout_ms: int = 90_000) -> None:
    """Every page ends with its share link: once it names the page, the page has rendered."""
    page.locator('[data-testid="stText"]', has_text=f"page={name}").last.wait_for(
        timeout=timeout_ms
    )


def test_hostile_walk_over_every_page(server, tiny_env):
    """Markdown, link, image and HTML payloads from the data and the URL show as literal text on
    all six pages: no dialog, no request off localhost, no javascript: link."""
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    from tests.app.conftest import HOSTILE_USER, MD_IMG

    ds = load_dataset(tiny_env.data)
    entity = ds.n_items  # the first entity that is not an item: its name carries a payload
    walk = [
        ("overview", ""),
        ("user_explorer", f"&model=kgat&user={quote(HOSTILE_USER)}"),
        ("compare", f"&user={quote(HOSTILE_USER)}"),
        ("knowledge_graph", f"&item={quote(ds.entity_ids.to_raw(entity))}"),
        ("train", ""),
        ("feedback", ""),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        guarded = Guarded(browser)
        page = guarded.page()
        for name, extra in walk:
            page.goto(f"{server}/?page={name}{extra}", wait_until="domcontentloaded")
            _wait_for_link(page, name)
            assert page.locator('a[href^="javascript"]').count() == 0, name
            assert page.locator('img[src*="example.com"]').count() == 0, name
            if name == "user_explorer":
                page.get_by_text(f"History of {HOSTILE_USER}", exact=False).wait_for()
            if name == "knowledge_graph":
                page.get_by_text(ds.entity_names[entity], exact=False).first.wait_for()
        # a link whose value is a Markdown image: the error box shows it as text, fetches nothing
        page.goto(f"{server}/?page=user_explorer&user={quote(MD_IMG)}", wait_until="load")
        page.get_by_text(f"user '{MD_IMG}'", exact=False).wait_for(timeout=90_000)
        page.screenshot(path=str(ROOT / "tests" / "artifacts" / "hostile_link.png"))
        browser.close()
    assert guarded.attempted == [], f"requests left localhost: {guarded.attempted}"
    assert guarded.dialogs == [], f"a hostile string ran script: {guarded.dialogs}"


def _choose(page, label: str, option: str, scope=None) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label`."""
    box = (scope or page).locator('[data-testid="stSelectbox"]', has_text=label).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=False).first.click()


def test_picker_card_and_link_agree_after_a_model_change_in_chromium(server, tiny_env):
    from urllib.parse import parse_qs

    from playwright.sync_api import sync_playwright

    ds = load_dataset(tiny_env.data)
    user = ds.user_ids.to_raw(3)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = Guarded(browser).page()
        page.goto(f"{server}/?page=user_explorer&model=attention&user={user}")
        _wait_for_link(page, "user_explorer")
        _choose(page, "Recommendation", "#4 ")
        page.locator('[data-testid="stText"]', has_text="model=attention").last.wait_for()
        sidebar = page.locator('[data-testid="stSidebar"]')
        _choose(page, "Model", "BPR-MF", scope=sidebar)
        page.locator('[data-testid="stText"]', has_text="model=bprmf").last.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let the rerun settle
        link = {k: v[0] for k, v in parse_qs(urlparse(_link_text(page)).query).items()}
        title = ds.title(ds.item_ids.to_internal(link["item"]))
        picker = page.locator('[data-testid="stSelectbox"]', has_text="Recommendation").first
        # the chosen option is drawn as text, or held as the combobox input's value
        shown = picker.inner_text() + " " + picker.locator("input").first.input_value()
        cards = page.get_by_text("Recommended because", exact=False)
        card_text = " ".join(cards.all_inner_texts())
        radio = page.locator('[data-testid="stRadio"]', has_text="Explain by").first
        checked = radio.locator("input:checked").count()
        browser.close()
    assert title in shown, (shown, link)  # the picker shows the item the link names
    assert not card_text or f'"{title}"' in card_text  # and the card explains that item
    assert link["method"] and checked == 1  # "Explain by" shows the method in use


def test_eight_sessions_at_once_store_every_vote_once(server, tiny_env):
    """8 browser sessions vote at the same time; every vote is stored exactly once, with its
    own user and comment (bounded: 7 minutes)."""
    import asyncio

    from playwright.async_api import async_playwright

    ds = load_dataset(tiny_env.data)
    users = [ds.user_ids.to_raw(10 + n) for n in range(8)]

    async def session(browser, n: int) -> None:
        context = await browser.new_context(viewport={"width": 1400, "height": 2000})
        context.set_default_timeout(240_000)  # 8 sessions share 2 cores: each step may wait
        page = await context.new_page()
        await page.goto(f"{server}/?page=user_explorer&model=kgat&user={users[n]}")
        await page.get_by_text(f"History of {users[n]}").wait_for()
        await page.get_by_label("Comment (optional)").fill(f"session {n} of 8")
        await page.get_by_label("Comment (optional)").press("Enter")
        await page.get_by_role("button", name="Helpful", exact=True).click()
        await page.get_by_text("feedback saved").wait_for()
        await context.close()

    async def run() -> None:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            await asyncio.wait_for(
                asyncio.gather(*(session(browser, n) for n in range(8))), timeout=420
            )
            await browser.close()

    asyncio.run(run())
    rows = feedback_frame(open_feedback(feedback_url(tiny_env.workspace)))
    for n, user in enumerate(users):
        mine = rows[rows["comment"] == f"session {n} of 8"]
        assert len(mine) == 1, (n, len(mine))
        assert mine.iloc[0]["user"] == user and mine.iloc[0]["vote"] == 1


_GRID_WIDTHS_JS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(d => {
  const s = d.querySelector('.dvn-scroller');
  return s ? [s.scrollWidth, s.clientWidth] : null; })"""


def test_the_overview_leaderboard_reads_without_sideways_scroll_at_1500_px(server, tiny_env):
    """At a 1500 px wide window every column of the leaderboard is in view: its grid (and the
    other cut-offs' grid in the expander) is no wider than its box. It used to scroll sideways
    over its last three columns (1297 px of columns in a 1038 px box on the sample)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 900}).new_page()
        page.goto(f"{server}/?page=overview", wait_until="domcontentloaded")
        _wait_for_link(page, "overview")
        page.locator('[data-testid="stDataFrame"] .dvn-scroller').first.wait_for(timeout=60_000)
        more = page.get_by_text("More metrics", exact=False)
        if more.count():  # the other cut-offs' grid is drawn once its expander opens
            more.first.click()
            grids = page.locator('[data-testid="stDataFrame"] .dvn-scroller')
            grids.nth(1).wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # the grids size their columns after their first paint
        widths = page.evaluate(_GRID_WIDTHS_JS)
        page.screenshot(path=str(ROOT / "tests" / "artifacts" / "overview_1500.png"))
        browser.close()
    assert widths and None not in widths, widths
    assert all(scroll <= client for scroll, client in widths), widths
    assert len(widths) >= 2, widths  # the expander's grid was measured too
