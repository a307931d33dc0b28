"""Dashboard latency: launch time and the user-explorer re-render when the user changes.

    python benchmarks/ui_latency.py                       # ./workspace, sample data, KGAT
    python benchmarks/ui_latency.py --first-launch        # fresh temp workspace: times training too
    python benchmarks/ui_latency.py --model attention --users 20
    python benchmarks/ui_latency.py --browser             # real server + Chromium timeline

Drives the real app (app/main.py) through Streamlit's AppTest in this process: the first run is
the launch (first launch on the sample = installs and verifies the bundled sample models, on
other data = trains the default set; later launch = loads artifacts), then a user-explorer deep
link that renders the complete card (sentence, heatmap, graph, paths, deletion curve,
counterfactual), then `--users` switches to users not seen before, each a full rerun with
uncached explanations. Prints a table of seconds; targets on the sample: first page < 15 s,
a switch < 1 s.

Set up as `make run` (`python -m app.serve`) sets up the server: one torch thread unless
OMP_NUM_THREADS says otherwise, and the server-wide warm-up (app/boot.py) started before the
first run. A second table breaks the first card down: the warm-up's steps (imports, dataset,
first launch, model, context) and each part of the card computed again, uncached, on the loaded
context (explanation, heatmap, graph, path shares, deletion curve, counterfactual). The
browser's share (page load, plotly and vis-network drawing) is what
`pytest -s tests/app/test_browser_demo.py` adds on top (it prints its own figure).

`--browser` measures that share: it launches the server as `make run` does on a fresh
workspace, opens the User explorer in headless Chromium (open before the server starts, as a
user's is) and prints a timeline in seconds after the server answered: when each part of the
KGAT card was first drawn, when each large JavaScript chunk (> 100 kB) was requested and
arrived, and the browser's long main-thread tasks (> 200 ms, from PerformanceObserver).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAIN = str(ROOT / "app" / "main.py")


def _run(at) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"app raised: {[e.value for e in at.exception]}")
    return seconds


def _card_parts(ctx, user: int) -> list[tuple[str, float]]:
    """Seconds of each part of the first card, recomputed uncached on the server's context:
    the card's own parts (`core.explain.card.card_parts`, what the page computes) and, after
    the explanation, the page's drawing work (heatmap, graph, path shares)."""
    from app.components.kg_graph import build_kg_html
    from core.explain import heatmap
    from core.explain.card import card_parts, primary_method
    from core.explain.present import path_shares

    items = ctx.top_k(user, 10)
    parts = card_parts(ctx, user, int(items[0]), 10)
    first = next(parts)
    expl = first.value
    rows = [(f"card: explanation ({primary_method(ctx)}, sentence)", first.ms / 1000)]
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        rows.append((f"card: {name}", now - t))
        t = now

    heatmap.heatmap_data(ctx, user, list(items))
    lap("heatmap (top-10 x history)")
    if expl.subgraph is not None:
        build_kg_html(expl.subgraph, expl.paths[:3])
        lap("graph (pyvis HTML)")
    path_shares(ctx, expl)
    lap("path shares")
    rows += [(f"card: {p.name} ({ctx.rescoring})", p.ms / 1000) for p in parts]
    return rows


CARD_PARTS = {  # what the browser shows, as tests/app/test_browser_demo.py looks for it
    "top-10": "Top-10 by KGAT",
    "heatmap": "share of KGAT path attention",
    "paths": "Top paths",
    "deletion curve": "Removing the 3 history items",
    "counterfactual": "What would change it",
}
_SEEN_JS = """(parts) => { const t = document.body.innerText, o = {};
  for (const [k, v] of Object.entries(parts)) if (t.includes(v)) o[k] = true;
  return o; }"""
_LONG_TASKS_JS = """window.__longTasks = []; try { new PerformanceObserver(l => {
  for (const e of l.getEntries()) window.__longTasks.push([e.startTime, e.duration]); })
  .observe({type: 'longtask', buffered: true}); } catch (e) {}"""


def _canvas_drawn(page) -> bool:
    """Whether an iframe (the KG graph's) holds a vis-network canvas."""
    for frame in page.frames[1:]:
        try:
            if frame.evaluate("() => !!document.querySelector('canvas')"):
                return True
        except Exception:  # noqa: BLE001 - a frame detached meanwhile (the primer's)
            continue
    return False


def browser_timeline(wait_s: float = 90.0) -> int:
    """Fresh server (python -m app.serve) + headless Chromium: print when each card part,
    large chunk and long task happened, in seconds after the server answered."""
    import subprocess

    from playwright.sync_api import sync_playwright

    from tests.app.test_browser import ARGS, CHROMIUM, _free_port, wait_until_serving

    ws = tempfile.mkdtemp(prefix="reclens-ws-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLENS_")}
    env.pop("OMP_NUM_THREADS", None)  # the launcher's own default, as in make run
    env["RECLENS_WORKSPACE"] = str(Path(ws) / "ws")
    port = _free_port()
    cmd = [sys.executable, "-m", "app.serve", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    cmd += ["--server.fileWatcherType", "none"]
    events: list[tuple[float, str]] = []
    answered = [0.0]

    def note(text: str) -> None:
        events.append((time.perf_counter() - answered[0], text))

    with sync_playwright() as pw, open(Path(ws) / "server.log", "wb") as log:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 900})
        context.add_init_script(_LONG_TASKS_JS)
        page = context.new_page()
        big: dict[str, float] = {}

        def finished(request) -> None:
            try:
                size = request.sizes()["responseBodySize"]
            except Exception:  # noqa: BLE001 - the browser closed meanwhile
                return
            if size > 100_000:
                name = request.url.split("/")[-1].split("?")[0]
                note(f"chunk {name} ({size / 1e6:.2f} MB) arrived, asked at {big[request.url]:.1f}")

        page.on("request", lambda r: big.setdefault(r.url, time.perf_counter() - answered[0]))
        page.on("requestfinished", finished)
        launched = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://localhost:{port}"
            wait_until_serving(proc, url, 90, lambda: (Path(ws) / "server.log").read_text())
            answered[0] = time.perf_counter()
            page.goto(f"{url}/?page=user_explorer", wait_until="domcontentloaded")
            nav = time.perf_counter() - answered[0]
            seen: dict[str, float] = {}
            while len(seen) < len(CARD_PARTS) + 1 and time.perf_counter() - answered[0] < wait_s:
                for name in page.evaluate(_SEEN_JS, CARD_PARTS):
                    if name not in seen:
                        seen[name] = time.perf_counter() - answered[0]
                        note(f"card part drawn: {name}")
                if "graph" not in seen and _canvas_drawn(page):
                    seen["graph"] = time.perf_counter() - answered[0]
                    note("card part drawn: graph")
                page.wait_for_timeout(100)
            for start_ms, ms in page.evaluate("() => window.__longTasks"):
                if ms > 200:
                    events.append((nav + start_ms / 1000, f"long browser task {ms / 1000:.2f} s"))
        finally:
            browser.close()
            proc.terminate()
            proc.wait(timeout=20)
    print(
        f"server answered {answered[0] - launched:.1f} s after launch; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; times in s after the server answered"
    )
    for at, text in sorted(events):
        print(f"{at:7.2f}  {text}")
    missing = [p for p in (*CARD_PARTS, "graph") if p not in seen]
    print(f"complete card: {max(seen.values()):.1f} s" if not missing else f"missing: {missing}")
    return 0 if not missing else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace", default=None, help="default ./workspace (temp with --first-launch)"
    )
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--model", default="kgat")
    parser.add_argument("--users", type=int, default=10, help="user switches to time")
    parser.add_argument("--first-launch", action="store_true", help="start from an empty workspace")
    parser.add_argument("--browser", action="store_true", help="real server + Chromium timeline")
    args = parser.parse_args(argv)
    if args.browser:
        return browser_timeline()
    ws = args.workspace or (
        tempfile.mkdtemp(prefix="reclens-ws-") if args.first_launch else "workspace"
    )
    os.environ.update(RECLENS_WORKSPACE=ws, RECLENS_DATASET=args.dataset)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as app/serve.py (make run)

    from streamlit.testing.v1 import AppTest

    from app import boot, warm

    start = time.perf_counter()
    boot.start()  # as app/serve.py: before the first page is asked for
    rows = [
        ("launch (first run of app/main.py)", _run(AppTest.from_file(MAIN, default_timeout=900)))
    ]
    from core.data import load_dataset

    users = load_dataset(args.dataset).user_ids.raw
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(page="user_explorer", model=args.model, user=users[0])
    rows.append((f"user explorer deep link, full card ({args.model}, cold)", _run(at)))
    rows.append(("first card from start (launch + deep link)", time.perf_counter() - start))
    breakdown = list(warm.current().timings.items())
    found = warm.current().model.result()  # (key, TrainedModel, ExplainContext) or None
    if found is not None and found[1].model.name == args.model:  # the context the page used
        breakdown += _card_parts(found[2], 0)
    switches = []
    for raw in users[1 : 1 + args.users]:
        at.selectbox(key="ue_user").set_value(raw)
        switches.append(_run(at))
    import torch

    print(
        f"workspace {ws}, dataset {args.dataset}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch thread(s), load average {os.getloadavg()[0]:.1f}"
    )
    for name, sec in rows:
        print(f"{name:<60} {sec:8.2f} s")
    if switches:
        print(f"{'user switch: median':<60} {statistics.median(switches):8.2f} s")
        print(f"{'user switch: max of ' + str(len(switches)):<60} {max(switches):8.2f} s")
    print("\nfirst card, step by step (warm-up thread, then the card's parts recomputed)")
    for name, sec in breakdown:
        print(f"{name:<60} {sec:8.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
