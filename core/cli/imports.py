"""`python -m core import SOURCE ...`: make a RecLens artifact from a model trained elsewhere.

Each source (a RecBole checkpoint, embedding tables, black-box top-k lists) is a module with a
`register(subparsers)` function, listed in IMPORTERS; this module only builds the `import` group.
"""

from __future__ import annotations

import argparse

from core.cli import import_recbole

IMPORTERS: tuple = (import_recbole,)


def register(sub: argparse._SubParsersAction) -> None:
    if not IMPORTERS:
        return
    parser = sub.add_parser("import", help="make an artifact from a model trained elsewhere")
    sources = parser.add_subparsers(dest="source", required=True)
    for module in IMPORTERS:
        module.register(sources)
