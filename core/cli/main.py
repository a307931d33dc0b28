"""`python -m core ...`: stats, train, evaluate, recommend, explain, bench, launch, narrate,
explain-all, population, import, sample-models.

Each command group lives in its own module of this package and registers its sub-commands here;
this file only dispatches and turns expected errors into exit status 2 with a one-line message
instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.cli import cold, data, explain, export, imports, models, narrate, population, samples
from core.cli.common import UsageError
from core.data.errors import DataError
from core.models.base import NotSupported
from core.store.artifacts import ArtifactError

GROUPS = (data, models, explain, cold, narrate, export, population, imports, samples)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in GROUPS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (DataError, UsageError, NotSupported, ArtifactError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
