"""Dashboard latency: launch time and the user-explorer re-render when the user changes.

    python benchmarks/ui_latency.py                       # ./workspace, sample data, KGAT
    python benchmarks/ui_latency.py --first-launch        # fresh temp workspace: times training too
    python benchmarks/ui_latency.py --model attention --users 20

Drives the real app (app/main.py) through Streamlit's AppTest in this process: the first run is
the launch (first launch on the sample = installs and verifies the bundled sample models, on
other data = trains the default set; later launch = loads artifacts), then a user-explorer deep
link that renders the complete card (sentence, heatmap, graph, paths, deletion curve,
counterfactual), then `--users` switches to users not seen before, each a full rerun with
uncached explanations. Prints a table of seconds; targets on the sample: first page < 15 s,
a switch < 1 s.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace", default=None, help="default ./workspace (temp with --first-launch)"
    )
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--model", default="kgat")
    parser.add_argument("--users", type=int, default=10, help="user switches to time")
    parser.add_argument("--first-launch", action="store_true", help="start from an empty workspace")
    args = parser.parse_args(argv)
    ws = args.workspace or (
        tempfile.mkdtemp(prefix="reclens-ws-") if args.first_launch else "workspace"
    )
    os.environ.update(RECLENS_WORKSPACE=ws, RECLENS_DATASET=args.dataset)

    from streamlit.testing.v1 import AppTest

    from core.data import load_dataset

    rows = [
        ("launch (first run of app/main.py)", _run(AppTest.from_file(MAIN, default_timeout=900)))
    ]
    users = load_dataset(args.dataset).user_ids.raw
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(page="user_explorer", model=args.model, user=users[0])
    rows.append((f"user explorer deep link, full card ({args.model}, cold)", _run(at)))
    switches = []
    for raw in users[1 : 1 + args.users]:
        at.selectbox(key="ue_user").set_value(raw)
        switches.append(_run(at))
    print(f"workspace {ws}, dataset {args.dataset}, {os.cpu_count()} CPUs")
    for name, sec in rows:
        print(f"{name:<60} {sec:8.2f} s")
    if switches:
        print(f"{'user switch: median':<60} {statistics.median(switches):8.2f} s")
        print(f"{'user switch: max of ' + str(len(switches)):<60} {max(switches):8.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
