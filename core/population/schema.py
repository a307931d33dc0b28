"""The export's Parquet layout (format 2), shared by its writer (core.export) and its readers
(core.population): one row per (user, method, rank), explanations as nested types.

    contributions  list<struct<kind, id, name, weight>>       history items, entities, edges
    paths          list<struct<kind, score, hops: list<struct<head, relation, tail>>, names>>
    counterfactual struct<removed, removed_names, new_rank, new_score, k, valid> (null: none)

Ids are raw ids; `hops[1]` is the user's interaction, so in DuckDB `paths[1].hops[2].tail` is
the shared entity of the top path of shape user-item-entity-item. The top path is also kept in
flat `top_*` columns (`top_fields`): population figures read those, because decoding the nested
columns of a million rows costs seconds and reading the flat ones a tenth of one. Every shard's
key-value metadata `reclens` holds {format, model, source: {artifact, weights}, methods, config}.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class ExportError(ValueError):
    """An export folder that holds another export, an old or incomplete one being read."""


FORMAT = 2  # 1: JSON-string columns (refused); 2: nested Parquet types
META_KEY = b"reclens"
PLAN, MANIFEST = "plan.json", "manifest.json"
OLD_EXPORT = (
    "{where} was written by an older RecLens (export format {found}: explanations as JSON "
    "text); population figures need format 2 (nested Parquet). Re-run `python -m core "
    "explain-all ARTIFACT --out NEW_FOLDER` (or delete the folder)"
)

CONTRIBUTION = pa.struct(
    [("kind", pa.string()), ("id", pa.string()), ("name", pa.string()), ("weight", pa.float64())]
)
HOP = pa.struct([("head", pa.string()), ("relation", pa.string()), ("tail", pa.string())])
PATH = pa.struct(
    [("kind", pa.string()), ("score", pa.float64()), ("hops", pa.list_(HOP)),
     ("names", pa.list_(pa.string()))]
)  # fmt: skip
COUNTERFACTUAL = pa.struct(
    [("removed", pa.list_(pa.string())), ("removed_names", pa.list_(pa.string())),
     ("new_rank", pa.int64()), ("new_score", pa.float64()), ("k", pa.int64()),
     ("valid", pa.bool_())]
)  # fmt: skip
HEAD_FIELDS = [
    ("user", pa.string()), ("user_index", pa.int64()), ("method", pa.string()),
    ("model", pa.string()), ("rank", pa.int64()), ("item", pa.string()),
    ("item_index", pa.int64()), ("title", pa.string()), ("score", pa.float64()),
    ("sentence", pa.string()), ("contributions", pa.list_(CONTRIBUTION)),
    ("paths", pa.list_(PATH)), ("counterfactual", COUNTERFACTUAL),
    ("fidelity_sampled", pa.bool_()),
    # the top path (paths[0]) in flat columns, so population queries read no nested data:
    ("top_shape", pa.string()), ("top_relation", pa.string()), ("top_shared", pa.string()),
    ("top_shared_name", pa.string()), ("top_history", pa.string()),
    ("top_history_name", pa.string()),
]  # fmt: skip


def top_fields(paths: list[dict], contributions: list[dict]) -> dict:
    """The flat `top_*` columns of a row from its nested paths (hops as dicts) and
    contributions, both heaviest first: the top path's shape, its type (last relation, "~"
    dropped), its shared node (the one before the item) and that node's name, and the history
    item it starts from (else the heaviest history-item contribution) with its name."""
    top = paths[0] if paths else None
    hist = next((c for c in contributions if c["kind"] == "history_item"), None)
    starts = top is not None and top["hops"] and top["hops"][0]["relation"] == "interacted"
    names = top["names"] if top else []
    return {
        "top_shape": top["kind"] if top else "no path",
        "top_relation": top["hops"][-1]["relation"].removeprefix("~")
        if top and top["hops"]
        else None,
        "top_shared": top["hops"][-1]["head"] if top and top["hops"] else None,
        "top_shared_name": names[-2] if len(names) >= 2 else None,
        "top_history": top["hops"][0]["tail"] if starts else (hist["id"] if hist else None),
        "top_history_name": (names[1] if len(names) > 1 else None)
        if starts
        else (hist["name"] if hist else None),
    }


def row_schema(fidelity_columns: list[str]) -> pa.Schema:
    """HEAD_FIELDS, then the fidelity columns (float64, NaN when not measured)."""
    return pa.schema(HEAD_FIELDS + [(c, pa.float64()) for c in fidelity_columns])


def export_meta(path: str | Path) -> dict:
    """The `reclens` metadata of one shard; ExportError for a format-1 (JSON-string) shard."""
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    meta = json.loads(raw) if raw else {"format": 1}
    if meta.get("format") != FORMAT:
        raise ExportError(OLD_EXPORT.format(where=path, found=meta.get("format")))
    return meta


def artifact_digest(folder: str | Path) -> str:
    """sha256 (16 hex) of an artifact's files other than metrics: its weights and settings."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.name != "metrics.json":
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def shard_files(out: str | Path) -> list[str]:
    """The shard files of a complete export of the current format (ExportError otherwise)."""
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise ExportError(f"{out}: no {MANIFEST}; the export is incomplete or not an export")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ExportError(OLD_EXPORT.format(where=out, found=manifest.get("format", 1)))
    files = sorted(str(p) for p in out.glob("shard-*.parquet"))
    for path in files:
        export_meta(path)
    return files


def read_manifest(out: str | Path) -> dict:
    """manifest.json of a complete export of the current format (ExportError otherwise)."""
    shard_files(out)
    return json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
