"""The dashboard's side of population exports: where each model's export lives, and the export
run in a background thread (one per artifact, shared by every session) with its progress.

An export lives in `workspace/exports/<dataset folder>/<model>` (named as its artifact); a run
resumes whatever shards are already there (core.export), so a restarted server or a second click
continues, never redoes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from app import auth, state, workspace
from core import export
from core.population.report import Freshness, freshness
from core.population.schema import ExportError
from core.safe_text import md

FIDELITY_SAMPLE = 50  # users whose rows get the deletion test (the "how personal" figures)
SHARD_SIZE = 64  # users per shard: the progress bar's step


def export_folder(artifact: Path) -> Path:
    artifact = Path(artifact)
    return workspace.workspace_dir() / "exports" / artifact.parent.name / artifact.name


def status(artifact: Path) -> tuple[str, Freshness | None, str]:
    """("ready" | "stale" | "missing" | "incomplete" | "old", freshness or None, message)."""
    folder = export_folder(artifact)
    if not (folder / export.PLAN).is_file():
        return "missing", None, "no export yet"
    if not (folder / export.MANIFEST).is_file():
        return "incomplete", None, "an export was started and not finished (it resumes)"
    try:
        fresh = freshness(folder, artifact)
    except ExportError as err:
        return "old", None, str(err)
    if fresh.stale:
        return "stale", fresh, "made from other weights of this model: export again"
    return "ready", fresh, f"weights {fresh.digest}, finished {fresh.finished}"


@dataclass
class ExportJob(workspace.BackgroundJob):
    """One background export of a model's population (total: its shards)."""

    done_shards: int = 0

    @property
    def fraction(self) -> float:
        return min(self.done_shards / max(self.total, 1), 1.0)


_JOBS: dict[str, ExportJob] = {}  # server-wide, outlives script runs (as workspace._LAUNCHES)
_JOBS_LOCK = threading.Lock()


def job(artifact: Path) -> ExportJob | None:
    return _JOBS.get(str(export_folder(artifact)))


def _run(job: ExportJob, ctx, ds, users, folder: Path, cfg, source: dict) -> None:
    def on_shard(index: int, rows: int) -> None:
        job.done_shards += 1
        job.text = f"shard {job.done_shards}/{job.total} ({rows} rows)"

    try:
        report = export.export_explanations(
            ctx, ds, users, folder, cfg, on_shard=on_shard, source=source
        )
        job.done_shards = report.shards
        export.finish(folder)
    except Exception as err:  # shown on the page; traceback in the server log
        logging.getLogger("reclens").exception("population export failed")
        job.error = f"{type(err).__name__}: {err}"
    finally:
        job.seconds = time.perf_counter() - job.started
        job.done.set()


def start(artifact: Path, ctx, ds, restart: bool = False) -> ExportJob:
    """Start (or return the running) export of every user with a history; `restart` first
    deletes a stale or old export. ctx, ds: the cached context and dataset (read only)."""
    folder = export_folder(artifact)
    with _JOBS_LOCK:
        running = _JOBS.get(str(folder))
        if running is not None and not running.done.is_set():
            return running
        if restart and (folder / export.PLAN).is_file():
            export.clear_export(folder)
        users = export.all_users_with_history(ctx)
        cfg = export.ExportConfig(k=10, shard_size=SHARD_SIZE, fidelity_sample=FIDELITY_SAMPLE)
        source = {
            "artifact": str(Path(artifact).resolve()),
            "weights": export.artifact_digest(artifact),
        }
        shards = -(-len(users) // SHARD_SIZE)
        done = len(list(folder.glob("shard-*.parquet"))) if folder.is_dir() else 0
        new = ExportJob(total=shards, done_shards=done)
        _JOBS[str(folder)] = new
        args = (new, ctx, ds, users, folder, cfg, source)
        threading.Thread(target=_run, args=args, name="reclens-export", daemon=True).start()
        return new


# --- the page's pieces ---------------------------------------------------------------------------


@st.fragment(run_every=1.0)
def _progress(artifact: Path) -> None:
    """The running export's bar, redrawn each second; the whole page reruns when it is done."""
    running = job(artifact)
    if running is None:
        return
    st.progress(running.fraction, text=f"Exporting in the background: {running.text}")
    if running.done.is_set():
        st.rerun(scope="app")


def export_panel(sel, model: str) -> Path | None:
    """Say how fresh `model`'s export is; offer to export (admins, when roles are configured);
    return the folder when its figures can be shown (complete, current format, same weights)."""
    artifact = sel.models[model]
    kind, fresh, message = status(artifact)
    running = job(artifact)
    if running is not None and not running.done.is_set():
        _progress(artifact)
        return None
    if running is not None and running.error:
        st.error(f"The last export failed: {md(running.error)}")
    if kind == "ready":
        st.caption(f"Export of {md(workspace.label(model))}: {md(message)}")
        return export_folder(artifact)
    if kind in ("stale", "old"):
        st.error(f"The export of {md(workspace.label(model))} is not used: {md(message)}")
    else:
        st.info(f"{md(workspace.label(model))}: {md(message)}.")
    if auth.require_admin("export every user's explanations"):
        label = {"missing": "Export all users", "incomplete": "Resume the export"}
        if st.button(label.get(kind, "Export again"), key=f"pop-export-{model}"):
            ctx = state.context(sel.key(model), sel.dataset_path)
            start(artifact, ctx, sel.dataset, restart=kind in ("stale", "old"))
            st.rerun()
    return None


def stamp(folder: Path) -> int:
    """The manifest's mtime: cached figures follow a re-export."""
    return (folder / export.MANIFEST).stat().st_mtime_ns


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def headline(figs: dict[str, dict]) -> pd.DataFrame:
    """One row per figure, one column per model (text cells, so a table of mixed units)."""
    rows = {
        "recommendations": lambda f: f"{f['n_recommendations']} ({f['n_users']} users)",
        "bubble: one driver (mean)": lambda f: _pct(f["bubble"]["entity_mean"]),
        "bubble: one relation (mean)": lambda f: _pct(f["bubble"]["relation_mean"]),
        "distinct drivers per top-10": lambda f: _num(f["distinct_drivers"]["mean"], 2),
        "long-tail exposure": lambda f: _pct(f["long_tail"]),
        "not personal: top-10": lambda f: _pct(f["personal"]["not_personal"]),
        "not personal: #1s": lambda f: _pct(f["personal"]["not_personal_first"]),
        "users in the fidelity sample": lambda f: str(f["personal"]["sampled_users"]),
        "mean deletion ratio@3": lambda f: _num(f["personal"]["mean_deletion_ratio"], 2),
        **{
            f"path metric {m.upper()}": (lambda f, m=m: _num(f["path_metrics"][m]))
            for m in ("lir", "sep", "ptd", "ptc", "lid", "sed")
        },
        "query time": lambda f: f"{f['seconds']:.2f} s",
    }
    return pd.DataFrame(
        [{"figure": name, **{m: cell(f) for m, f in figs.items()}} for name, cell in rows.items()]
    )


def drill_options(figs: dict[str, dict], models: dict[str, str]) -> list[tuple]:
    """(label, model, what, value) of every aggregate on the page, for the drill-down picker."""
    out = []
    for label, f in figs.items():
        m = models[label]
        out += [(f"{label}: driver entity {d['name']} ({d['n']})", m, "driver_entity", d["id"])
                for d in f["driver_entities"]]  # fmt: skip
        out += [(f"{label}: driver history item {d['name']} ({d['n']})", m, "driver_item", d["id"])
                for d in f["driver_items"]]  # fmt: skip
        out += [(f"{label}: relation {r['value']}", m, "relation", r["value"])
                for r in f["relations"] if r["value"] != "(none)"]  # fmt: skip
        out += [(f"{label}: shape {r['value']}", m, "shape", r["value"]) for r in f["shapes"]]
        k = f["k"]
        out += [(f"{label}: bubble {round(b['value'] * k)}/{k} one driver", m, "bubble_entity",
                 b["value"]) for b in f["bubble"]["entity"]]  # fmt: skip
        out += [(f"{label}: activity quartile {q['quartile']}", m, "activity_quartile",
                 q["quartile"]) for q in f["by_activity"]]  # fmt: skip
        if f["personal"]["sampled_recommendations"]:
            out.append((f"{label}: not personal (sampled users)", m, "not_personal", True))
    return out


def tradeoff_points(sel, models: list[str], trained: dict) -> tuple[pd.DataFrame, list]:
    """Compare's accuracy-vs-explanation points from the models' current exports: a frame
    (model, ndcg@20, deletion ratio@3, bubble: one driver, users) and [(label, why missing)]."""
    points, missing = [], []
    for model in models:
        label = workspace.label(model)
        kind, _, message = status(sel.models[model])
        if kind != "ready":
            missing.append((label, message))
            continue
        folder = export_folder(sel.models[model])
        f = state.population(str(folder), stamp(folder))
        points.append(
            {
                "model": label,
                "ndcg@20": trained[model].metrics.get("test", {}).get("ndcg@20"),
                "deletion ratio@3": f["personal"]["mean_deletion_ratio"],
                "bubble: one driver": f["bubble"]["entity_mean"],
                "users": f["n_users"],
            }
        )
    return pd.DataFrame(points), missing
