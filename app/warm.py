"""The server-wide warm-up's results: what the first page needs, loaded once per server process
by app/boot.py as early as possible, and taken by the cached accessors of `app.state` instead of
loading it again.

The accessors wait for the warm-up when it is working on the very thing they need, and return
None otherwise (another model, another dataset, or a warm-up that failed), so the caller loads it
itself and errors surface in the page as before. The objects are read-only once built, like any
cache_resource value. `timings` records seconds per step (benchmarks/ui_latency.py prints them).
This module imports nothing from app/ and nothing heavy: app/boot.py fills it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WarmUp:
    """One process's warm-up: what it works on and the futures it resolves."""

    workspace: Path
    dataset_path: str
    dataset: Future = field(default_factory=Future)  # core.data.Dataset
    # (artifact key, TrainedModel, ExplainContext) of the preferred model, or None
    model: Future = field(default_factory=Future)
    target: Future = field(default_factory=Future)  # artifact key it loads, or None
    timings: dict[str, float] = field(default_factory=dict)
    imported: threading.Event = field(default_factory=threading.Event)  # step 1 finished
    primer_ready: threading.Event = field(default_factory=threading.Event)  # step 0 finished
    primer: dict | None = None  # app/primer.py's content ("figure", "frame"), once built
    started: float = field(default_factory=time.perf_counter)
    done: threading.Event = field(default_factory=threading.Event)


_WARM: WarmUp | None = None
_LOCK = threading.Lock()


def current() -> WarmUp | None:
    return _WARM


def install(w: WarmUp) -> WarmUp:
    """Make `w` this process's warm-up unless one is already there; returns the one in place."""
    global _WARM
    with _LOCK:
        if _WARM is None:
            _WARM = w
        return _WARM


def _mine(workspace: Path, dataset_path: str) -> WarmUp | None:
    w = _WARM
    if w is None or w.dataset_path != dataset_path or w.workspace != Path(workspace):
        return None
    return w


def dataset(workspace: Path, dataset_path: str) -> Any | None:
    """The warm-up's Dataset for `dataset_path` (waiting for it), or None."""
    w = _mine(workspace, dataset_path)
    if w is None:
        return None
    try:
        return w.dataset.result()
    except Exception:  # noqa: BLE001 - the caller loads it and raises the error itself
        return None


def model(workspace: Path, key: str, dataset_path: str) -> tuple[Any, Any] | None:
    """(TrainedModel, ExplainContext) of artifact `key` when the warm-up loads that very
    artifact (waiting for it), else None."""
    w = _mine(workspace, dataset_path)
    if w is None or w.target.result() != key:
        return None
    try:
        found = w.model.result()
    except Exception:  # noqa: BLE001
        return None
    return None if found is None or found[0] != key else (found[1], found[2])


def drop_stale(is_current) -> None:
    """Let go of the warm-up's model once `is_current(key)` says its artifact changed (it was
    retrained or deleted), so it is not kept in memory for nothing."""
    w = _WARM
    if w is None or not w.model.done() or w.model.exception() is not None:
        return
    found = w.model.result()
    if found is not None and not is_current(found[0]):
        gone: Future = Future()
        gone.set_result(None)
        w.model = gone
