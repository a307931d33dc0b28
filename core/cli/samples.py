"""`python -m core sample-models [OUT] [--models M ...]` (`make sample-models`): regenerate the
bundled sample artifacts from core.store.workspace.FIRST_LAUNCH, the one source of truth for
what a newcomer sees."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.store.workspace import BUNDLE, DEFAULT_MODELS, build_bundle


def register(sub) -> None:
    """Add `sample-models` to the argparse sub-parsers `sub`."""
    p = sub.add_parser(
        "sample-models", help="retrain the bundled sample models (one thread, reproducible)"
    )
    p.add_argument("out", nargs="?", default=str(BUNDLE), help="output folder (default: bundle)")
    p.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS), help="models to train")
    p.set_defaults(handler=cmd_sample_models)


def cmd_sample_models(args: argparse.Namespace) -> int:
    build_bundle(Path(args.out), tuple(args.models))
    return 0
