"""`python -m app.serve [streamlit run options]`: the dashboard's launcher (`make run`).

Starts the server-wide warm-up (app/boot.py: imports, dataset, first launch, the default
model) and then the Streamlit server on app/main.py in the same process, so the warm-up runs
while the server starts and the browser opens the page. `python -m streamlit run app/main.py`
works too; it starts the same warm-up only when the first page is opened.

Torch computes with one thread per process here unless OMP_NUM_THREADS says otherwise: a
page's model calls are small, the server shares the machine's cores with the browser and with
other sessions' script threads, and torch's default (a thread per core, spin-waiting) then
stalls. Measured on the 2-core dev machine under load: the KGAT card's deletion curve 5.2 s
with 2 threads, 0.3 s with 1; loading KGAT 1.2-2.0 s against 0.55 s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# the server's own modules first, in this thread: the warm-up's imports then never run
# concurrently with them (see app/boot.py); neither imports torch, so OMP_NUM_THREADS set in
# main() still applies
from streamlit.web import bootstrap, cli  # noqa: F401

from app import boot

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported (see above)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    boot.start()
    sys.argv = ["streamlit", "run", str(MAIN), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    raise SystemExit(main())
