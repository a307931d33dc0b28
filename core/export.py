"""Batch export of every user's top-k with explanations to Parquet, sharded and resumable.

`export_explanations` splits the users into fixed shards (`shard_size` users each, in the given
order); rank r of W computes shards r, r + W, ... Each shard is written to a temporary file and
renamed into place, so a shard file exists only when it is complete. A rerun after a crash (or
a kill) skips the shards already there, and because every explanation and fidelity figure is
seeded per row, not per run, the resumed output equals an uninterrupted one. `plan.json`
pins the users and settings of the export: resuming with others is refused. When every shard
is in place, rank 0 writes `manifest.json`; its presence marks the export complete.

One row per (user, method, rank) with raw ids, the sentence, and the explanation as Parquet's
nested types (`SCHEMA`): contributions (history items, entities, edges) and paths (each a list of
head-relation-tail hops) as lists of structs, the counterfactual as a struct, so DuckDB or
pyarrow query them without parsing a row in Python (core.population). Each shard carries the
export format, the model and its weights digest and the settings in its Parquet key-value
metadata (`reclens`); exports of format 1 (JSON-string columns) are refused, not misread.

Deletion fidelity (rank drop after removing the explanation's top-m history items, against m
random ones) is measured when the model can re-score a history: for every row, or, with
`fidelity_sample=N`, for the rows of N users drawn once by a seeded generator (stored in the
plan); other rows hold NaN and `fidelity_sampled` False. Rank 0 also writes the side tables of
core.population.tables (item popularity, user activity, recency, KG degrees).
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
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from core.explain import api, fidelity
from core.explain.context import ExplainContext
from core.explain.headline import item_popularity, with_headline
from core.explain.records import to_raw
from core.explain.registry import supported_methods
from core.models.base import can_rescore
from core.population import tables
from core.population.schema import (  # the layout and its readers, re-exported here
    FORMAT,
    MANIFEST,
    META_KEY,
    OLD_EXPORT,
    PLAN,
    row_schema,
    shard_files,
    top_fields,
)
from core.population.schema import ExportError as ExportError
from core.population.schema import artifact_digest as artifact_digest
from core.population.schema import export_meta as export_meta
from core.population.schema import read_manifest as read_manifest


@dataclass(frozen=True)
class ExportConfig:
    k: int = 10  # recommendations explained per user
    methods: tuple[str, ...] = ()  # () : the first method the model supports
    shard_size: int = 256  # users per shard file
    fidelity: bool = True  # deletion test per explanation (needs history re-scoring)
    fidelity_sample: int = 0  # > 0: the deletion test only for this many random users
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
    if rank == 0:
        side = tables.side_tables(dataset, ctx.history_ptr, ctx.history_items)
        tables.write_side_tables(out, side, _write_table_atomic)
    sampled = set(plan["fidelity_users"]) if cfg.fidelity_sample > 0 else None
    meta = {k: plan[k] for k in ("format", "model", "source", "methods", "config")}
    shards = _shards(users, cfg.shard_size)
    report = ExportReport(shards=len(shards))
    for index in range(rank, len(shards), world_size):
        path = shard_path(out, index)
        if path.is_file():
            report.skipped.append(index)
            continue
        frame = shard_frame(ctx, dataset, shards[index], methods, cfg, sampled)
        _write_atomic(_to_table(frame, cfg, meta), path)
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
    manifest = {
        "format": FORMAT, "shards": n, "rows": int(sum(rows)), "rows_per_shard": rows,
        "complete": True, "model": plan["model"], "source": plan["source"],
        "users": len(plan["users"]), "k": plan["config"]["k"],
        "fidelity_users": len(plan.get("fidelity_users") or []),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
    _write_json_atomic(out / MANIFEST, manifest)
    return manifest


def clear_export(out: str | Path) -> None:
    """Delete an export's own files (shards, side tables, plan, manifest), then the folder if it
    is left empty; a folder without plan.json is not an export and is left alone."""
    out = Path(out)
    if not (out / PLAN).is_file():
        raise ExportError(f"{out} holds no {PLAN}: not an export, not deleted")
    names = [*out.glob("shard-*.parquet"), *out.glob(".shard-*.tmp-*")]
    names += [tables.table_path(out, t) for t in tables.TABLES] + [out / MANIFEST, out / PLAN]
    for path in names:
        path.unlink(missing_ok=True)
    if not any(out.iterdir()):
        out.rmdir()


def read_export(out: str | Path, user: str | None = None) -> pd.DataFrame:
    """The rows of a complete export (only `user`'s, a raw id, when given), sorted. Nested
    columns come back as Python lists of dicts (a small read: population figures use SQL)."""
    data = pads.dataset(shard_files(out), format="parquet")
    table = data.to_table(filter=pads.field("user") == user if user is not None else None)
    frame = table.to_pandas(maps_as_pydicts="strict")
    for col in ("contributions", "paths"):
        frame[col] = frame[col].map(_plain)
    frame["counterfactual"] = frame["counterfactual"].map(_plain)
    return frame.sort_values(["user_index", "method", "rank"], kind="stable").reset_index(drop=True)


# --- one shard ---------------------------------------------------------------------------------


def _plain(value):
    """numpy arrays from pyarrow's to_pandas back to lists, recursively (None stays None)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def shard_frame(
    ctx: ExplainContext,
    dataset,
    users: list[int],
    methods: list[str],
    cfg: ExportConfig,
    sampled: set[int] | None = None,
) -> pd.DataFrame:
    """Rows of `users` (internal ids): top-k explanations per method with fidelity (for the
    users in `sampled` only, when given). Nested columns hold plain lists / dicts."""

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
                    "contributions": raw["contributions"],
                    "paths": [_nested_path(p) for p in raw["paths"]],
                    "counterfactual": raw["counterfactual"],
                }
                row.update(top_fields(row["paths"], row["contributions"]))
                measure = rescores and (sampled is None or user in sampled)
                row["fidelity_sampled"] = measure
                row.update(_fidelity(ctx, expl, fcfg) if measure else _no_fidelity(cfg))
                row["sentence"] = _headline(ctx, expl, row).sentence  # from its own measurement
                rows.append(row)
    return pd.DataFrame(rows, columns=_columns(cfg))


def _headline(ctx, expl, row: dict):
    """The explanation with the sentence its deletion figures support (headline.py)."""
    if "drop@3" not in row:
        return expl
    pop = item_popularity(ctx.history_items, expl.item)
    return with_headline(expl, row["drop@3"], row["random_drop@3"], 3, pop, ctx.n_users)


def _nested_path(path: dict) -> dict:
    hops = [{"head": h, "relation": r, "tail": t} for h, r, t in path["edges"]]
    return {"kind": path["kind"], "score": path["score"], "hops": hops, "names": path["names"]}


def _to_table(frame: pd.DataFrame, cfg: ExportConfig, meta: dict) -> pa.Table:
    """The shard as Arrow with the nested schema and the `reclens` metadata."""
    blob = json.dumps(meta, default=float).encode()
    sch = row_schema(_fidelity_columns(cfg)).with_metadata({META_KEY: blob})
    return pa.Table.from_pylist(frame.to_dict("records"), schema=sch)


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
    body = ["score", "sentence", "contributions", "paths", "counterfactual", "fidelity_sampled"]
    body += ["top_shape", "top_relation", "top_shared", "top_shared_name", "top_history"]
    body += ["top_history_name"]
    return head + body + _fidelity_columns(cfg)


# --- files -------------------------------------------------------------------------------------


def _shards(users: Sequence[int], size: int) -> list[list[int]]:
    if size < 1:
        raise ExportError(f"shard_size must be at least 1, got {size}")
    users = list(users)
    return [users[i : i + size] for i in range(0, len(users), size)]


def fidelity_users(users: list[int], cfg: ExportConfig) -> list[int]:
    """The users whose rows get the deletion test when `fidelity_sample` > 0: drawn without
    replacement by a generator seeded with `cfg.seed`, in the export's user order."""
    if cfg.fidelity_sample <= 0:
        return []
    rng = np.random.default_rng(cfg.seed)
    n = min(cfg.fidelity_sample, len(users))
    pick = np.sort(rng.choice(len(users), size=n, replace=False))
    return [users[i] for i in pick]


def _plan(ctx, users: list[int], cfg: ExportConfig, methods: list[str], source: dict) -> dict:
    return {
        "format": FORMAT,
        "fidelity_users": fidelity_users(users, cfg),
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
        found = json.loads(path.read_text(encoding="utf-8"))
        if found.get("format", 1) != FORMAT:
            raise ExportError(OLD_EXPORT.format(where=out, found=found.get("format", 1)))
        if found != normal:
            raise ExportError(
                f"{out} holds an export of other users or settings ({PLAN} differs); "
                "use another --out or delete it"
            )
        return
    if write:
        _write_json_atomic(path, normal)


def _write_atomic(table: pa.Table, path: Path) -> None:
    """Parquet to a temporary name, then rename: the shard is either whole or absent."""
    _write_table_atomic(table, path)


def _write_table_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        pq.write_table(table, tmp)
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
