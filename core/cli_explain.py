"""Sub-commands of `python -m core` (registered by core.cli). Filled in by its owner."""

from __future__ import annotations


def register(sub) -> None:
    """Add this module's sub-commands to the argparse sub-parsers `sub`."""
