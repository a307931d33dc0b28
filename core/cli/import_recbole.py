"""`python -m core import recbole CHECKPOINT --dataset DATASET --out ARTIFACT`.

Reads a RecBole 1.2.x Trainer checkpoint without running anything from it and writes an ordinary
RecLens artifact (core.store.recbole_import); prints the parity figures measured at import.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.data import load_dataset
from core.data.load import resolve_path
from core.store.artifacts import artifact_lock
from core.store.recbole_import import import_recbole


def register(sources: argparse._SubParsersAction) -> None:
    p = sources.add_parser("recbole", help="a RecBole 1.2.x checkpoint (BPR, LightGCN, KGAT)")
    p.add_argument("checkpoint", help="saved/MODEL-DATE.pth written by RecBole's Trainer")
    p.add_argument("--dataset", required=True, help="folder of the atomic files it was trained on")
    p.add_argument("--out", required=True, help="artifact folder to write")
    p.add_argument("--recbole-version", default="1.2", help="shown in model lists (default 1.2)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    folder = resolve_path(args.dataset)
    ds = load_dataset(folder, "recbole")
    with artifact_lock(args.out):
        result = import_recbole(
            args.checkpoint,
            ds,
            folder,
            args.out,
            dataset_source={"path": str(folder.resolve()), "format": "recbole"},
            version=args.recbole_version,
        )
    measured = result.origin.measured
    if args.json:
        out = {"artifact": str(result.folder), "measured": measured, "warning": result.mismatch}
        print(json.dumps(out))
        return 0
    print(f"imported {result.origin.summary} -> {Path(result.folder)}")
    for note in result.notes:
        print(f"  note: {note}")
    for name, value in measured.items():
        print(f"  {name}: {value:.6f}")
    if result.mismatch:
        print(f"warning: {result.mismatch}")
    return 0
