"""`python -m core ...`: stats, train, evaluate, recommend, explain, bench, narrate.

Each command group lives in its own module (cli_data, cli_models, cli_explain) and registers its
sub-commands here; this file only dispatches and turns expected errors into exit status 2 with a
one-line message instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.data.errors import DataError
from core.models.base import NotSupported
from core.store.artifacts import ArtifactError


class UsageError(Exception):
    """A request that cannot be served as asked (unknown user, bad artifact, ...)."""


def build_parser() -> argparse.ArgumentParser:
    from core import cli_data, cli_explain, cli_export, cli_models, cli_narrate

    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (cli_data, cli_models, cli_explain, cli_narrate, cli_export):
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
