"""Server-wide warm-up: the work the first page needs, started once per server process as early
as possible, so that it overlaps with the browser opening the page.

`start()` (cheap: it imports nothing heavy) runs one daemon thread that, in order:
0. imports plotly, pandas and pyarrow and builds the browser's primer (`primer`, then
   `primer_ready` is set): app/primer.py sends it at the start of each session's first run, so
   the browser fetches and runs the code of the card's charts, tables and iframe (plotly's is
   4.7 MB) while the server is busy with steps 1-4, not when the card arrives;
1. imports the heavy modules the first page needs (torch, DGL, the models, the explainers,
   pyvis; not torch._dynamo, which only a process's first optimiser needs: KGAT builds its KG
   phase's optimiser when it first trains, not when it is loaded);
2. loads the default dataset;
3. starts the first launch (bundled sample models copied in, else background training) through
   `app.workspace.first_launch`, so it is the same shared job every session watches;
4. loads the dataset's preferred model (KGAT on the sample, `core.store.workspace.PREFERRED`)
   and builds its explanation context.

`python -m app.serve` (what `make run` runs) calls `start()` before the server starts;
app/main.py calls it too (a no-op then), so a plain `streamlit run app/main.py` warms from its
first script run. Only the first call of a process starts anything: one warm-up per server.
app/main.py waits for step 1 before its own imports: imports run under the GIL one at a time
anyway, and two threads importing the same packages concurrently could meet in a circular
import and see a half-initialised module.

The cached accessors of `app.state` take the results (`dataset`, `model`) instead of loading
them again: they wait for the warm-up when it is working on the very thing they need, and load
it themselves otherwise (another model, another dataset, or a warm-up that failed, so errors
surface in the page as before). The warm-up never calls Streamlit (no cached accessor runs in
its thread) and the objects it builds are read-only once built, like any cache_resource value.
`timings` records seconds per step (benchmarks/ui_latency.py prints them).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from app import warm
from app.warm import WarmUp
from core.store.layout import workspace_dir

# Every function-local import below is a start-up measure (tests/test_layering.py lists them):
# `start()` must return at once, and the heavy imports run in the warm-up thread, overlapping
# with the server start and the browser.

_LOCK = threading.Lock()


def start(workspace: Path | None = None, dataset_path: str | None = None) -> WarmUp:
    """Start this process's warm-up (the workspace and dataset of app.workspace by default);
    a later call returns the running one, whatever its arguments."""
    with _LOCK:
        found = warm.current()
        if found is not None:
            return found
        ws = Path(workspace) if workspace else workspace_dir()
        path = dataset_path or os.environ.get("RECLENS_DATASET", "sample")
        w = warm.install(WarmUp(ws, path))
        threading.Thread(target=_run, args=(w,), name="reclens-warm-up", daemon=True).start()
        return w


def _lap(w: WarmUp, step: str, since: float) -> float:
    now = time.perf_counter()
    w.timings[step] = now - since
    return now


def _import_heavy() -> None:
    import torch  # noqa: F401

    import app.sidebar  # noqa: F401 - everything app/main.py and the User explorer import
    import app.views  # noqa: F401
    import core.explain.registry  # noqa: F401
    import core.models.registry  # noqa: F401


def _build_primer(w: WarmUp) -> None:
    """Import what the primer's elements need (plotly for st.plotly_chart, pandas and pyarrow
    for st.dataframe / st.table) and build its content: a blank heatmap (the card's own trace
    type) and a one-cell frame. Building the first figure loads plotly's validators."""
    import pandas as pd
    import plotly.graph_objects as go
    import plotly.io
    import plotly.tools  # noqa: F401 - st.plotly_chart converts figures with it
    import pyarrow as pa

    hidden = dict(visible=False, fixedrange=True)
    fig = go.Figure(go.Heatmap(z=[[0.0]], showscale=False, hoverinfo="skip", opacity=0.0))
    fig.update_layout(height=10, margin=dict(l=0, r=0, t=0, b=0), xaxis=hidden, yaxis=hidden)
    plotly.io.to_json(fig, validate=False)  # what st.plotly_chart does with it, warmed here
    frame = pd.DataFrame({"primer": [""]})
    pa.Table.from_pandas(frame)  # what st.dataframe does with it
    w.primer = {"figure": fig.to_plotly_json(), "frame": frame}


def _run(w: WarmUp) -> None:
    t = w.started
    try:
        try:
            _build_primer(w)
        finally:
            w.primer_ready.set()
        t = _lap(w, "the browser's primer (plotly, pandas, pyarrow)", t)
        try:
            _import_heavy()
        finally:
            w.imported.set()
        t = _lap(w, "imports (torch, DGL, models, explainers, app)", t)
        from core.data import load_dataset

        try:
            ds = load_dataset(w.dataset_path)
        except Exception as err:  # the page loads it again and shows the error
            w.dataset.set_exception(err)
            raise
        w.dataset.set_result(ds)
        t = _lap(w, "load dataset", t)
        key, folder = _target(w, ds)
        t = _lap(w, "first launch (install bundled models)", t)
        w.target.set_result(key)
        if key is None:
            w.model.set_result(None)
            return
        from core.explain.context import ExplainContext
        from core.store.artifacts import load_artifact

        try:  # two steps (not ExplainContext.from_artifact): ui_latency times each
            tm = load_artifact(folder, ds)
            t = _lap(w, f"load {tm.model.name} artifact", t)
            ctx = ExplainContext.from_dataset(ds, tm.split, tm.model)
            t = _lap(w, "explanation context", t)
        except Exception as err:
            w.model.set_exception(err)
            raise
        w.model.set_result((key, tm, ctx))
    except Exception:  # the accessors load for themselves; the page shows the error
        logging.getLogger("reclens").warning("warm-up stopped", exc_info=True)
    finally:
        for fut in (w.dataset, w.target, w.model):
            if not fut.done():
                fut.set_result(None)
        w.timings["warm-up total"] = time.perf_counter() - w.started
        w.primer_ready.set()
        w.imported.set()
        w.done.set()


def _target(w: WarmUp, ds) -> tuple[str | None, Path | None]:
    """(artifact key, folder) of the model the first page shows, after the first launch."""
    from app import state, workspace
    from core.store import workspace as core_ws

    job = workspace.first_launch(w.workspace, ds, w.dataset_path)
    if job is not None:
        job.done.wait()
        if job.error:
            return None, None
    models = core_ws.models_for(w.workspace, ds)
    if not models:
        return None, None
    folder = next(iter(models.values()))
    return state.artifact_key(folder), folder
