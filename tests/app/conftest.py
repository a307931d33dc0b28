"""One tiny trained workspace per test session, shared by the AppTest and browser tests.

The dataset is the sample generator at a tiny size, made hostile so every page test is also an
escaping test: item titles carry `<script>` / `<img onerror>`, entity names Markdown image and
`javascript:` link payloads, one relation name a Markdown image and one user id Markdown
emphasis and an image (all pointing off localhost: the browser test fails on any such request).
The first AppTest run is the dashboard's own first launch: it trains the default model set
(1 epoch each, via RECLENS_FAST_TRAIN) into a temporary workspace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from core.data.sample import SampleConfig, write_sample

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")
SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
MD_IMG = "![t](http://example.com/x.png)"
MD_LINK = "[click](javascript:alert(1))"
HOSTILE_RELATION = "decade ![r](http://example.com/r.png)"
HOSTILE_USER = "u0001*b*![u](http://example.com/u.png)"
TINY = SampleConfig(
    n_users=40,
    n_items=60,
    n_directors=8,
    n_actors=20,
    min_interactions=8,
    max_interactions=16,
    min_driver_items=3,
)


@dataclass(frozen=True)
class TinyEnv:
    data: Path
    workspace: Path
    env: dict[str, str]
    first_launch_seconds: float


def element_types(node) -> list[str]:
    """The element types of an AppTest node's whole subtree, depth first."""
    out = []
    for child in getattr(node, "children", {}).values():
        out.append(getattr(child, "type", type(child).__name__))
        out.extend(element_types(child))
    return out


def write_hostile_dataset(folder: Path) -> Path:
    write_sample(folder, TINY)
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    items["title"] = [f"{t} {SCRIPT if i % 2 else IMG}" for i, t in enumerate(items["title"])]
    items.to_csv(folder / "items.csv", index=False)
    entities = pd.read_csv(folder / "entities.csv", dtype=str, keep_default_na=False)
    entities["name"] = [
        f"{n} {MD_IMG if i % 2 else MD_LINK}" for i, n in enumerate(entities["name"])
    ]
    entities.to_csv(folder / "entities.csv", index=False)
    kg = pd.read_csv(folder / "kg.csv", dtype=str, keep_default_na=False)
    kg["relation"] = kg["relation"].replace("decade", HOSTILE_RELATION)
    kg.to_csv(folder / "kg.csv", index=False)
    for name in ("interactions.csv", "ground_truth.csv"):
        if (folder / name).exists():
            frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
            frame["user"] = frame["user"].replace("u0001", HOSTILE_USER)
            frame.to_csv(folder / name, index=False)
    return folder


@pytest.fixture(scope="session")
def tiny_env(tmp_path_factory) -> TinyEnv:
    """Hostile tiny dataset + a workspace trained by the app's own first launch (once)."""
    from streamlit.testing.v1 import AppTest

    root = tmp_path_factory.mktemp("reclens")
    data = write_hostile_dataset(root / "hostile_data")
    env = {
        "RECLENS_WORKSPACE": str(root / "ws"),
        "RECLENS_DATASET": str(data),
        "RECLENS_FAST_TRAIN": "1",
    }
    with pytest.MonkeyPatch.context() as mp:  # env only while the app runs, never leaked
        for k, v in env.items():
            mp.setenv(k, v)
        start = time.perf_counter()
        at = AppTest.from_file(MAIN, default_timeout=600).run()
        seconds = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    assert any("First launch" in i.value for i in at.info)
    return TinyEnv(data, root / "ws", env, seconds)


@pytest.fixture(autouse=True)
def _tiny_env_vars(request, monkeypatch):
    """Tests that use tiny_env see its environment (the app reads it on every run)."""
    if "tiny_env" in request.fixturenames:
        for k, v in request.getfixturevalue("tiny_env").env.items():
            monkeypatch.setenv(k, v)
