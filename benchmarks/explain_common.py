"""Shared by benchmarks/fidelity.py and benchmarks/explain_latency.py: get a trained artifact
per (dataset, model) — load it from the artifacts folder, or train it with the accuracy
benchmark's protocol and settings (benchmarks/accuracy.py) and save it there — and build its
ExplainContext once."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import DATASETS, MODEL, TRAIN  # noqa: E402  (one protocol for all)

DEFAULT_ARTIFACTS = ROOT / "benchmarks" / "out" / "artifacts"


def add_common_args(p, users: int) -> None:
    """Arguments fidelity.py and explain_latency.py share: what to explain, with which models."""
    p.add_argument("--datasets", nargs="+", default=["sample"])
    p.add_argument("--models", nargs="+", default=["kgat", "attention", "lightgcn", "bprmf"])
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p.add_argument("--epochs", type=int, default=100, help="when an artifact must be trained")
    p.add_argument("--users", type=int, default=users)


def get_context(dataset: str, model: str, artifacts: Path, epochs: int, seed: int = 2020):
    """(Dataset, dataset folder, ExplainContext, seconds spent training or loading)."""
    from core.data import load_dataset
    from core.data.load import resolve_path
    from core.explain.context import ExplainContext
    from core.store.training import train_model
    from core.train import TrainConfig

    path, method = DATASETS[dataset]
    ds = load_dataset(path)
    folder = artifacts / f"{dataset}-{model}"
    t0 = time.perf_counter()
    if (folder / "meta.json").is_file():
        ctx = ExplainContext.from_artifact(folder, ds)
    else:
        cfg = TrainConfig(epochs=epochs, patience=5, smooth_window=1, seed=seed,
                          split_method=method, split_seed=2020, **TRAIN.get(model, {}))  # fmt: skip
        source = {"path": path, "format": None}
        trained = train_model(ds, model, overrides=MODEL.get(model, {}), train_config=cfg,
                              out_dir=folder, dataset_source=source)  # fmt: skip
        trained.model.prepare_inference()
        ctx = ExplainContext.from_dataset(ds, trained.split, trained.model)
    return ds, resolve_path(path), ctx, time.perf_counter() - t0


def write_section(name: str, text: str, results: Path = ROOT / "benchmarks" / "RESULTS.md") -> None:
    """Replace (or append) the block between <!-- name:begin --> and <!-- name:end -->."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    old = results.read_text(encoding="utf-8") if results.is_file() else ""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    new = (
        pattern.sub(lambda _: block, old)
        if pattern.search(old)
        else old.rstrip() + "\n\n" + block + "\n"
    )
    results.write_text(new.lstrip(), encoding="utf-8")
