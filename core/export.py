"""Batch export of every user's top-k with explanations to Parquet, sharded and resumable.

`export_explanations` splits the users into fixed shards (`shard_size` users each, in the given
order); rank r of W computes shards r, r + W, ... Each shard is written to a temporary file and
renamed into place, so a shard file exists only when it is complete. A rerun after a crash (or
a kill) skips the shards already there, and because every explanation and fidelity figure is
seeded per row, not per run, the resumed output equals an uninterrupted one. `plan.json`
pins the users and settings of the export: resuming with others is refused. When every shard
is in place, rank 0 writes `manifest.json`; its presence marks the export complete.

One row per (user, method, rank) with raw ids, the sentence, contributions / paths /
counterfactual as JSON text, and the explanation's deletion fidelity (rank drop after removing
its top-m history items, against m random ones) when the model can re-score a history.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from core.explain import api, fidelity
from core.explain.context import ExplainContext
from core.explain.headline import item_popularity, with_headline
from core.explain.records import to_raw
from core.explain.registry import supported_methods
from core.models.base import can_rescore

PLAN, MANIFEST = "plan.json", "manifest.json"


class ExportError(ValueError):
    """An export folder that holds another export, or an incomplete one being read."""


@dataclass(frozen=True)
class ExportConfig:
    k: int = 10  # recommendations explained per user
    methods: tuple[str, ...] = ()  # () : the first method the model supports
    shard_size: int = 256  # users per shard file
    fidelity: bool = True  # deletion test per explanation (needs history re-scoring)
    ms: tuple[int, ...] = (1, 3, 5)  # deletion sizes of the fidelity columns
    random_draws: int = 2  # random deletions averaged per (explanation, m)
    seed: int = 0  # random deletions (the same for every row, so shards do not matter)


@dataclass
class ExportReport:
    shards: int  # shards in the plan
    written: list[int] = field(default_factory=list)  # shards this call computed
    skipped: list[int] = field(default_factory=list)  # shards already complete
    rows: int = 0  # rows this call wrote
    seconds: float = 0.0


def shard_path(out: Path, index: int) -> Path:
    return out / f"shard-{index:05d}.parquet"


def methods_for(ctx: ExplainContext, cfg: ExportConfig) -> list[str]:
    offered = supported_methods(ctx)
    if not cfg.methods:
        return offered[:1]
    missing = [m for m in cfg.methods if m not in offered]
    if missing:
        raise ExportError(
            f"model {ctx.model.name} cannot explain by {', '.join(missing)} "
            f"(it offers: {', '.join(offered) or 'none'})"
        )
    return list(cfg.methods)


def export_explanations(
    ctx: ExplainContext,
    dataset,
    users: Sequence[int],
    out: str | Path,
    cfg: ExportConfig = ExportConfig(),
    rank: int = 0,
    world_size: int = 1,
    on_shard: Callable[[int, int], None] | None = None,
    source: dict | None = None,
) -> ExportReport:
    """Write this rank's shards of `users` (internal ids) under `out`; skip finished ones.

    source: what identifies the model (artifact path, weights digest), pinned in the plan so
    a resume with another model is refused.
    on_shard(index, rows) is called after each shard is written (progress). Call `finish`
    on rank 0 once every rank is done. Returns what this call wrote and skipped.
    """
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    users = [int(u) for u in users]
    methods = methods_for(ctx, cfg)
    plan = _plan(ctx, users, cfg, methods, source or {})
    _check_plan(out, plan, write=rank == 0)
    shards = _shards(users, cfg.shard_size)
    report = ExportReport(shards=len(shards))
    for index in range(rank, len(shards), world_size):
        path = shard_path(out, index)
        if path.is_file():
            report.skipped.append(index)
            continue
        frame = shard_frame(ctx, dataset, shards[index], methods, cfg)
        _write_atomic(frame, path)
        report.written.append(index)
        report.rows += len(frame)
        if on_shard is not None:
            on_shard(index, len(frame))
    report.seconds = time.perf_counter() - start
    return report


def finish(out: str | Path) -> dict:
    """Check every planned shard is present and write `manifest.json` (rank 0, at the end)."""
    out = Path(out)
    plan = json.loads((out / PLAN).read_text(encoding="utf-8"))
    n = len(_shards(plan["users"], plan["config"]["shard_size"]))
    missing = [i for i in range(n) if not shard_path(out, i).is_file()]
    if missing:
        raise ExportError(f"{out}: shards {missing[:5]} are missing; rerun to resume")

    for stale in out.glob(".shard-*.tmp-*"):  # left by a process killed while writing
        stale.unlink(missing_ok=True)
    rows = [pq.ParquetFile(shard_path(out, i)).metadata.num_rows for i in range(n)]
    manifest = {"shards": n, "rows": int(sum(rows)), "rows_per_shard": rows, "complete": True}
    _write_json_atomic(out / MANIFEST, manifest)
    return manifest


def read_export(out: str | Path, user: str | None = None) -> pd.DataFrame:
    """The rows of a complete export (only `user`'s, a raw id, when given), sorted."""
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise ExportError(f"{out}: no {MANIFEST}; the export is incomplete or not an export")

    data = pads.dataset(sorted(str(p) for p in out.glob("shard-*.parquet")), format="parquet")
    table = data.to_table(filter=pads.field("user") == user if user is not None else None)
    frame = table.to_pandas()
    return frame.sort_values(["user_index", "method", "rank"], kind="stable").reset_index(drop=True)


# --- one shard ---------------------------------------------------------------------------------


def shard_frame(
    ctx: ExplainContext, dataset, users: list[int], methods: list[str], cfg: ExportConfig
) -> pd.DataFrame:
    """Rows of `users` (internal ids): top-k explanations per method with fidelity."""

    rescores = cfg.fidelity and can_rescore(ctx.model)
    fcfg = fidelity.FidelityConfig(k=cfg.k, ms=cfg.ms, seed=cfg.seed, random_draws=cfg.random_draws)
    rows = []
    for user in users:
        for method in methods:
            for expl in api.explain_top_k(ctx, user, cfg.k, method):
                raw = to_raw(dataset, expl)
                row = {
                    "user": dataset.user_ids.to_raw(user),
                    "user_index": user,
                    "method": method,
                    "model": expl.model,
                    "rank": expl.rank,
                    "item": raw["item"],
                    "item_index": expl.item,
                    "title": raw["title"],
                    "score": expl.score,
                    "sentence": expl.sentence,
                    "contributions": json.dumps(raw["contributions"], ensure_ascii=False),
                    "paths": json.dumps(raw["paths"], ensure_ascii=False),
                    "counterfactual": json.dumps(raw["counterfactual"], ensure_ascii=False),
                }
                row.update(_fidelity(ctx, expl, fcfg) if rescores else _no_fidelity(cfg))
                row["sentence"] = _headline(ctx, expl, row).sentence  # from its own measurement
                rows.append(row)
    return pd.DataFrame(rows, columns=_columns(cfg))


def _headline(ctx, expl, row: dict):
    """The explanation with the sentence its deletion figures support (headline.py)."""
    if "drop@3" not in row:
        return expl
    pop = item_popularity(ctx.history_items, expl.item)
    return with_headline(expl, row["drop@3"], row["random_drop@3"], 3, pop, ctx.n_users)


def _fidelity(ctx, expl, fcfg: fidelity.FidelityConfig) -> dict[str, float]:
    res = fidelity.deletion_test(ctx, [expl], fcfg)
    out = {"deletion_auc": res["auc"]}
    for m in fcfg.ms:
        out[f"drop@{m}"] = res[f"drop@{m}"]
        out[f"random_drop@{m}"] = res[f"random_drop@{m}"]
    return out


def _no_fidelity(cfg: ExportConfig) -> dict[str, float]:
    return {c: float("nan") for c in _fidelity_columns(cfg)}


def _fidelity_columns(cfg: ExportConfig) -> list[str]:
    return ["deletion_auc"] + [f"{p}drop@{m}" for m in cfg.ms for p in ("", "random_")]


def _columns(cfg: ExportConfig) -> list[str]:
    head = ["user", "user_index", "method", "model", "rank", "item", "item_index", "title"]
    body = ["score", "sentence", "contributions", "paths", "counterfactual"]
    return head + body + _fidelity_columns(cfg)


# --- files -------------------------------------------------------------------------------------


def _shards(users: Sequence[int], size: int) -> list[list[int]]:
    if size < 1:
        raise ExportError(f"shard_size must be at least 1, got {size}")
    users = list(users)
    return [users[i : i + size] for i in range(0, len(users), size)]


def _plan(ctx, users: list[int], cfg: ExportConfig, methods: list[str], source: dict) -> dict:
    return {
        "model": ctx.model.name,
        "source": source,
        "methods": methods,
        "config": asdict(cfg),
        "users": users,
    }


def _check_plan(out: Path, plan: dict, write: bool) -> None:
    """Refuse to resume an export made with other users or settings; write the plan if new."""
    path = out / PLAN
    normal = json.loads(json.dumps(plan))
    if path.is_file():
        if json.loads(path.read_text(encoding="utf-8")) != normal:
            raise ExportError(
                f"{out} holds an export of other users or settings ({PLAN} differs); "
                "use another --out or delete it"
            )
        return
    if write:
        _write_json_atomic(path, normal)


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Parquet to a temporary name, then rename: the shard is either whole or absent."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=2, default=float), encoding="utf-8")
    os.replace(tmp, path)


def all_users_with_history(ctx: ExplainContext) -> list[int]:
    """Internal ids of the users who have a training history (the default export set)."""
    return np.nonzero(np.diff(ctx.history_ptr) > 0)[0].astype(int).tolist()
