"""Which server folders a visitor may load data from: an allow-list, for team servers.

`RECLENS_DATA_ROOTS` (folders separated by `os.pathsep`, ':' on Linux) sets it; by default it is
the bundled sample, the workspace (uploads land there), the default dataset's folder and
`../shared/datasets` when present. A path is allowed when, with every symlink and `..` resolved,
it lies inside one of them; anything else is refused with a message that says so. No streamlit.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.data import DataError

ROOT = Path(__file__).resolve().parents[1]


def data_roots(workspace: Path, default_dataset: str) -> list[Path]:
    """The allowed folders, resolved."""
    configured = os.environ.get("RECLENS_DATA_ROOTS", "").strip()
    if configured:
        roots = [Path(p) for p in configured.split(os.pathsep) if p.strip()]
    else:
        roots = [ROOT / "sample_data", workspace, ROOT.parent / "shared" / "datasets"]
        if default_dataset != "sample":
            roots.append(Path(default_dataset))
    return [r.expanduser().resolve() for r in roots if r.expanduser().exists()]


def check_folder(path: str, roots: list[Path]) -> str:
    """`path` when it is "sample" or inside an allowed folder; otherwise DataError."""
    if path == "sample":
        return path
    resolved = Path(path).expanduser().resolve()
    if any(resolved == r or resolved.is_relative_to(r) for r in roots):
        return path
    allowed = ", ".join(str(r) for r in roots) or "none"
    raise DataError(
        f"'{path}' is outside the folders this server may load data from ({allowed}); "
        "an administrator can add folders with RECLENS_DATA_ROOTS"
    )
