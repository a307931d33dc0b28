"""What every command group shares: `UsageError`, the artifact/dataset arguments, loading an
artifact for explaining, raw-id lookup and the progress bar. Below every command module; the
dispatcher (core.cli.main) maps `UsageError` to exit status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from core.data import Dataset, IdMap
from core.data.load import resolve_path
from core.explain.context import ExplainContext
from core.store import read_meta


class UsageError(Exception):
    """A request that cannot be served as asked (unknown user, bad artifact, ...)."""


def dataset_args(parser: argparse.ArgumentParser) -> None:
    """--dataset / --format: the data an artifact is loaded on (default: as recorded)."""
    parser.add_argument(
        "--dataset", default=None, help="dataset folder (default: the one recorded in the artifact)"
    )
    parser.add_argument("--format", default=None, help="dataset format (default: as recorded)")


def explain_args(parser: argparse.ArgumentParser) -> None:
    """The dataset arguments plus --device and --json, for commands that explain an artifact."""
    dataset_args(parser)
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def load_context(
    artifact: str, dataset: str | None, fmt: str | None, device: str
) -> tuple[Dataset, Path, ExplainContext]:
    """(dataset, dataset folder, ExplainContext) of an artifact (ExplainContext.from_artifact)."""
    path = dataset or (read_meta(artifact).get("dataset") or {}).get("path")
    ctx = ExplainContext.from_artifact(artifact, dataset, device, fmt)
    return ctx.dataset, resolve_path(path), ctx


def internal_id(idmap: IdMap, raw: str, what: str, ds: Dataset) -> int:
    """The internal id of raw id `raw` (a `what`: "user" or "item"), or a UsageError."""
    idx = idmap.get(raw)
    if idx is None:
        examples = ", ".join(idmap.raw[:3])
        raise UsageError(f"unknown {what} '{raw}' in dataset {ds.name} (e.g. {examples})")
    return idx


def progress_bar(total: int, desc: str, disabled: bool) -> tqdm:
    """A tqdm bar of users on stderr (stdout stays clean for --json)."""
    return tqdm(total=total, desc=desc, unit="user", file=sys.stderr, disable=disabled)
