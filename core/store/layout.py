"""Where things live on disk: the workspace folder, one folder per dataset in it, one artifact
folder per model, and the bundled sample models. Standard library only, so the dashboard's
launcher (app/boot.py) can find its workspace before the heavy imports start.

Layout: `<workspace>/<dataset name>-<fingerprint[:8]>/<model>/`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "sample_data" / "models"


def workspace_dir(env: dict[str, str] | None = None) -> Path:
    """$RECLENS_WORKSPACE (default ./workspace), resolved."""
    env = os.environ if env is None else env
    return Path(env.get("RECLENS_WORKSPACE", "workspace")).resolve()


def dataset_folder(workspace: Path, dataset) -> Path:
    return Path(workspace) / f"{dataset.name}-{dataset.fingerprint()[:8]}"


def artifact_folder(workspace: Path, dataset, model: str) -> Path:
    return dataset_folder(workspace, dataset) / model
