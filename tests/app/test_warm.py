"""The server-wide warm-up (app/warm.py): it loads what the first page shows, and the cached
accessors of app.state serve that instead of loading it again; anything else they load
themselves, so errors still reach the page."""

from __future__ import annotations

import pytest

from app import boot, state, warm
from core.data import load_dataset
from core.store import workspace as core_ws


@pytest.fixture()
def warmed(tiny_env, monkeypatch):
    """A warm-up run to its end (in this thread) over the tiny workspace, installed as the
    process's one."""
    w = warm.WarmUp(tiny_env.workspace.resolve(), str(tiny_env.data))
    boot._run(w)
    monkeypatch.setattr(warm, "_WARM", w)
    return w


def test_the_warm_up_loads_the_preferred_model_after_the_first_launch(tiny_env, warmed):
    ds = load_dataset(tiny_env.data)
    models = core_ws.models_for(tiny_env.workspace, ds)
    first = next(iter(models))
    assert first == core_ws.PREFERRED[0]  # KGAT: what the User explorer opens on
    key, tm, ctx = warmed.model.result()
    assert key == state.artifact_key(models[first])
    assert tm.model.name == first and ctx.model is tm.model
    assert warmed.dataset.result().fingerprint() == ds.fingerprint()
    steps = set(warmed.timings)
    assert {"load dataset", f"load {first} artifact", "explanation context"} <= steps


def test_the_accessors_serve_the_warm_up_s_model_without_loading(tiny_env, warmed, monkeypatch):
    def no_loading(*_args, **_kwargs):
        raise AssertionError("loaded again although the warm-up had it")

    monkeypatch.setattr(state, "load_artifact", no_loading)
    monkeypatch.setattr(state, "load_dataset", no_loading)
    key, tm, ctx = warmed.model.result()
    path = str(tiny_env.data)
    assert state.dataset.__wrapped__(path) is warmed.dataset.result()
    assert state.trained.__wrapped__(key, path) is tm
    assert warm.model(tiny_env.workspace.resolve(), key, path) == (tm, ctx)


def test_other_models_and_other_workspaces_are_loaded_by_the_accessor(
    tiny_env, warmed, tmp_path, monkeypatch
):
    ds = load_dataset(tiny_env.data)
    models = core_ws.models_for(tiny_env.workspace, ds)
    other = state.artifact_key(models["bprmf"])
    path = str(tiny_env.data)
    assert warm.model(tiny_env.workspace.resolve(), other, path) is None
    key = warmed.model.result()[0]
    assert warm.model(tmp_path, key, path) is None  # another workspace
    assert warm.dataset(tmp_path, path) is None
    loaded = []
    real = state.load_artifact
    monkeypatch.setattr(state, "load_artifact", lambda *a, **k: loaded.append(a) or real(*a, **k))
    tm = state.trained.__wrapped__(other, path)
    assert tm.model.name == "bprmf" and len(loaded) == 1


def test_a_retrained_artifact_is_not_served_from_the_warm_up(tiny_env, warmed):
    key, _, _ = warmed.model.result()
    warm.drop_stale(lambda k: k != key)  # what forget_models says once the artifact changed
    assert warm.model(tiny_env.workspace.resolve(), key, str(tiny_env.data)) is None


def test_a_failed_warm_up_leaves_the_accessors_to_load_and_report(tmp_path, monkeypatch):
    w = warm.WarmUp(tmp_path / "ws", str(tmp_path / "no-such-dataset"))
    boot._run(w)  # the dataset cannot be loaded: logged, every future resolved
    assert w.done.is_set() and w.imported.is_set()
    monkeypatch.setattr(warm, "_WARM", w)
    assert warm.dataset(tmp_path / "ws", str(tmp_path / "no-such-dataset")) is None
    assert warm.model(tmp_path / "ws", "any@0", str(tmp_path / "no-such-dataset")) is None


def test_the_primer_is_ready_before_the_heavy_imports(tiny_env, monkeypatch):
    """app/primer.py sends it while the warm-up imports torch and DGL, so it must not wait for
    them: step 0 builds it first."""
    seen = {}
    real = boot._import_heavy

    def import_heavy():
        seen["primer ready"] = w.primer_ready.is_set()
        seen["content"] = sorted(w.primer or {})
        real()

    monkeypatch.setattr(boot, "_import_heavy", import_heavy)
    w = warm.WarmUp(tiny_env.workspace.resolve(), str(tiny_env.data))
    boot._run(w)
    assert seen == {"primer ready": True, "content": ["figure", "frame"]}
    assert w.primer["figure"]["data"][0]["type"] == "heatmap"  # the card's own trace type


def test_a_loaded_kgat_builds_no_optimiser_until_it_trains(tiny_env):
    """Loading KGAT for the first card builds no optimiser: a process's first one imports
    torch._dynamo (~1.5 s of imports, plus ~1 s of load, on the first card's path)."""
    import torch

    from core.store.artifacts import load_artifact

    ds = load_dataset(tiny_env.data)
    tm = load_artifact(core_ws.models_for(tiny_env.workspace, ds)["kgat"], ds)
    assert tm.model._kg_optimiser is None
    opt = tm.model.kg_optimiser  # built at its first use (the first KG epoch)
    assert isinstance(opt, torch.optim.Adam) and opt is tm.model.kg_optimiser
    assert opt.param_groups[0]["lr"] == tm.model.config.kg_lr
