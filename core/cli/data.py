"""`python -m core stats DATASET [--format F] [--json]` (registered by core.cli)."""

from __future__ import annotations

import argparse
import json

from core.data import FORMATS, Dataset, load_dataset
from core.data.load import detect_format, resolve_path


def register(sub) -> None:
    """Add this module's sub-commands to the argparse sub-parsers `sub`."""
    p = sub.add_parser("stats", help="load a dataset and print its counts and load report")
    p.add_argument("dataset", help="dataset folder, or the word 'sample'")
    p.add_argument("--format", choices=FORMATS, default=None, help="override format detection")
    p.add_argument(
        "--implicit-threshold",
        type=float,
        default=None,
        metavar="R",
        help="keep only interactions with rating >= R",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=stats)


def stats(args: argparse.Namespace) -> int:
    fmt = args.format or detect_format(resolve_path(args.dataset))
    ds = load_dataset(args.dataset, fmt, implicit_threshold=args.implicit_threshold)
    if args.json:
        print(json.dumps({**ds.stats(), "format": fmt, "report": ds.report.as_dict()}, indent=2))
    else:
        print(format_stats(ds, fmt))
    return 0


def format_stats(ds: Dataset, fmt: str) -> str:
    """Counts and the load report as aligned plain text."""
    s = ds.stats()
    lines = [f"{'dataset':<14}{s['name']} ({fmt})"]
    for key in ("users", "items", "interactions", "entities", "relations", "triples"):
        lines.append(f"{key:<14}{s[key]:,}")
    lines.append(f"{'sparsity':<14}{s['sparsity']:.4%}")
    rep = ds.report
    lines.append("load report:")
    for file in dict.fromkeys([*rep.rows_read, *rep.rows_kept]):
        read, kept = rep.rows_read.get(file), rep.rows_kept.get(file)
        cells = [f"read {read:>10,}" if read is not None else " " * 15]
        cells += [f"kept {kept:>10,}"] if kept is not None else []
        lines.append(f"  {file:<28}" + "   ".join(cells))
    for reason, n in rep.dropped.items():
        lines.append(f"  dropped {n:,}: {reason}")
    lines.extend(f"  note: {note}" for note in rep.notes)
    if not rep.dropped:
        lines.append("  nothing dropped")
    return "\n".join(lines)
