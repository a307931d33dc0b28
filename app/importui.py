"""The Train page's "Import a model" section: a RecBole checkpoint from a server path (inside the
allowed data roots, app/data_roots.py) or an upload, imported for a dataset folder of RecBole
atomic files (core.store.recbole_import). Writing needs an administrator when roles are
configured, like training. The parity figures the import measured show right after it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from app import data_roots, workspace
from core.data import DataError, load_dataset
from core.safe_text import md
from core.store.artifacts import ArtifactError, artifact_lock
from core.store.recbole_import import ImportResult, import_recbole

MAX_UPLOAD_MB = 512  # a checkpoint of a large catalogue; Streamlit's own cap may be lower


def _roots() -> list[Path]:
    return data_roots.data_roots(workspace.workspace_dir(), workspace.default_dataset())


def _checkpoint(source: str) -> Path | None:
    """The checkpoint file to read: an allowed server path, or an upload saved in the workspace
    under its sha256 (never unpickled by anything but the restricted reader)."""
    if source == "server path":
        path = st.text_input("Checkpoint file (.pth) on the server", key="im_path").strip()
        if not path:
            return None
        data_roots.check_folder(str(Path(path).parent), _roots())
        if not Path(path).is_file():
            raise DataError("no such checkpoint file", path=path)
        return Path(path)
    upload = st.file_uploader("RecBole checkpoint (.pth)", type=["pth"], key="im_upload")
    if upload is None:
        return None
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_MB << 20:
        raise DataError(f"larger than {MAX_UPLOAD_MB} MB", path=upload.name)
    folder = workspace.workspace_dir() / "uploads" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.pth"
    target.write_bytes(data)
    return target


def _dataset_folder() -> Path | None:
    path = st.text_input(
        "Dataset folder (RecBole atomic files the checkpoint was trained on)", key="im_data"
    ).strip()
    if not path:
        return None
    data_roots.check_folder(path, _roots())
    return Path(path)


def _run(checkpoint: Path, folder: Path) -> ImportResult:
    ds = load_dataset(folder, "recbole")
    stem = checkpoint.stem.replace(" ", "_")
    out = workspace.workspace_dir() / "imported" / f"{ds.name}-{ds.fingerprint()[:8]}-{stem}"
    with artifact_lock(out):
        return import_recbole(
            checkpoint,
            ds,
            folder,
            out,
            dataset_source={"path": str(folder.resolve()), "format": "recbole"},
            version="1.2",
        )


def show_result(result: ImportResult) -> None:
    """The import's summary: origin, parity figures, notes."""
    st.success(
        f"Imported {md(result.origin.summary)}; it is now listed on the other pages "
        f"(dataset folder in the sidebar)."
    )
    rows = [{"figure": k, "value": round(v, 6)} for k, v in result.origin.measured.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if result.mismatch:
        st.warning(md(result.mismatch))
    for note in result.notes:
        st.caption(md(note))


def section(admin: bool) -> None:
    """Draw "Import a model"; `admin`: this session may write models (auth.require_admin)."""
    st.subheader("Import a model")
    st.caption(
        "A RecBole 1.2 checkpoint (BPR, LightGCN or KGAT), read without running anything "
        "from the file; RecLens rebuilds RecBole's ids and split from the dataset's files."
    )
    source = st.radio("Checkpoint", ["server path", "upload"], horizontal=True, key="im_src")
    try:
        checkpoint = _checkpoint(source) if admin else None
        folder = _dataset_folder()
    except DataError as err:
        st.error(f"Cannot use this file: {md(err)}")
        return
    ready = admin and checkpoint is not None and folder is not None
    if st.button("Import", disabled=not ready, key="im_go"):
        try:
            with st.spinner("Importing…"):
                result = _run(checkpoint, folder)
        except (ArtifactError, DataError) as err:
            st.error(f"Import refused: {md(err)}")
            return
        show_result(result)
