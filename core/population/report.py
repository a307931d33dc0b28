"""One export's population figures: `population(folder)`, what `python -m core population`
prints and the Population page shows; `freshness` says whether an export still matches its
model's artifact."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from core.population import queries
from core.population.schema import (
    MANIFEST,
    PLAN,
    ExportError,
    artifact_digest,
    read_manifest,
    shard_files,
)


@dataclass(frozen=True)
class Freshness:
    model: str
    digest: str  # weights digest the export was made from
    finished: str  # UTC time the export completed
    current: str | None  # the artifact's digest now (None: artifact not given or gone)

    @property
    def stale(self) -> bool:
        return self.current is not None and self.current != self.digest


def open_population(
    folder: str | Path, threads: int = 2, files: list[str] | None = None
) -> queries.Export:
    """The export opened for queries (ExportError when incomplete, old or not an export);
    `files`: its shards when already checked by `shard_files`."""
    files = files if files is not None else shard_files(folder)
    plan = json.loads((Path(folder) / PLAN).read_text(encoding="utf-8"))
    return queries.open_export(folder, files, plan, threads=threads)


def population(folder: str | Path, threads: int = 2) -> dict:
    """Every figure of core.population.queries.summary, with the export's identity and the
    seconds the queries took."""
    start = time.perf_counter()
    files = shard_files(folder)  # checks the manifest and every shard's format once
    manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    ex = open_population(folder, threads, files)
    try:
        out = queries.summary(ex)
    finally:
        ex.con.close()
    out = {
        "export": str(folder),
        "model": manifest["model"],
        "weights": (manifest.get("source") or {}).get("weights"),
        "finished": manifest["finished"],
        **out,
    }
    out["seconds"] = time.perf_counter() - start
    return out


def freshness(folder: str | Path, artifact: str | Path | None = None) -> Freshness:
    """Who made the export and when; `current` is the artifact's digest now, when given."""
    manifest = read_manifest(folder)
    digest = (manifest.get("source") or {}).get("weights") or ""
    current = None
    if artifact is not None and Path(artifact, "meta.json").is_file():
        current = artifact_digest(artifact)
    return Freshness(manifest["model"], digest, manifest["finished"], current)


def check_fresh(folder: str | Path, artifact: str | Path) -> Freshness:
    """`freshness`, raising ExportError when the artifact changed since the export."""
    fresh = freshness(folder, artifact)
    if fresh.stale:
        raise ExportError(
            f"{folder} was made from other weights of {fresh.model} ({fresh.digest}, now "
            f"{fresh.current}): re-run the export"
        )
    return fresh
