"""Shared inference is read-only and seeds are explicit generators (DESIGN.md, "Shared means
read-only"): no global torch seeding in core, model starts drawn from the run's generator, and
explanations, an artifact load and a training running in parallel threads on one shared model
give exactly what they give one after another."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import torch

from core.explain.api import explain
from core.explain.context import ExplainContext
from core.explain.registry import supported_methods
from core.models.base import ModelInputs
from core.models.registry import MODELS, build_model
from core.store import load_artifact
from core.store.training import train_model
from core.train import TrainConfig
from tests.train.fixture import tiny_dataset

CORE = Path(__file__).resolve().parents[2] / "core"
GLOBAL_SEED = re.compile(r"torch\.(random\.)?(manual_seed|seed)\(|torch\.cuda\.manual_seed")
CFG = TrainConfig(epochs=2, batch_size=128, lr=0.01, seed=3, eval_every=2)


def test_core_never_seeds_torch_globally():
    found = [
        f"{path.relative_to(CORE)}:{n}: {line.strip()}"
        for path in CORE.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if GLOBAL_SEED.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_draws_its_start_from_the_generator_alone(name):
    ds = tiny_dataset()
    from core.data import split_dataset

    inputs = ModelInputs.from_dataset(ds, split_dataset(ds, "random", seed=2020))
    states = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # what another thread may have left in the global RNG
        model = build_model(name, inputs, {}, torch.device("cpu"))
        model.init_weights(torch.Generator().manual_seed(7))
        states.append(model.state_dict())
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), f"{name}.{key} used the global RNG"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A saved KGAT artifact and its loaded, shared model + explanation context."""
    ds = tiny_dataset()
    folder = tmp_path_factory.mktemp("ws") / "kgat"
    train_model(
        ds, "kgat", overrides={"dim": 8, "layer_dims": (8,)}, train_config=CFG, out_dir=folder
    )
    tm = load_artifact(folder, ds)
    ctx = ExplainContext.from_dataset(ds, tm.split, tm.model)
    return ds, folder, tm, ctx


def _explanations(ctx) -> list[str]:
    out = []
    for user in range(6):
        item = int(ctx.top_k(user, 3)[0])
        for method in supported_methods(ctx):
            if method != "counterfactual":
                out.append(explain(ctx, user, item, method, k=10).digest())
    return out


def _train(ds) -> dict[str, torch.Tensor]:
    trained = train_model(ds, "kgat", overrides={"dim": 8, "layer_dims": (8,)}, train_config=CFG)
    return {k: v.clone() for k, v in trained.model.state_dict().items()}


def _load(ds, folder) -> torch.Tensor:
    tm = load_artifact(folder, ds)
    with torch.no_grad():
        return tm.model.score(torch.arange(ds.n_users))


def test_parallel_explain_load_and_train_equal_a_serial_run(shared):
    ds, folder, tm, ctx = shared
    before = {k: v.clone() for k, v in tm.model.state_dict().items()}
    caches = dict(vars(tm.model))
    serial = (_explanations(ctx), _train(ds), _load(ds, folder))

    results: dict[str, object] = {}
    errors: list[BaseException] = []
    training_done = threading.Event()

    def run(name, fn):
        try:
            results[name] = fn()
        except BaseException as err:  # surfaced below: a thread's failure must fail the test
            errors.append(err)

    def train():
        run("train", lambda: _train(ds))
        training_done.set()

    def loads():  # keep loading (each old load re-seeded torch) for as long as training runs
        outs = []
        while not training_done.is_set() or not outs:
            outs.append(_load(ds, folder))
        results["loads"] = outs

    def explanations():
        outs = []
        while not training_done.is_set() or not outs:
            outs.append(_explanations(ctx))
        results["explain"] = outs

    threads = [
        threading.Thread(target=train),
        threading.Thread(target=run, args=("l", loads)),
        threading.Thread(target=run, args=("e", explanations)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert all(got == serial[0] for got in results["explain"])
    trained = results["train"]
    for key, value in serial[1].items():
        assert torch.equal(trained[key], value), f"parallel training differs at {key}"
    assert all(torch.equal(scores, serial[2]) for scores in results["loads"])
    # the shared model was only read: same weights, same buffers, same cached objects
    for key, value in tm.model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert {k: id(v) for k, v in vars(tm.model).items()} == {k: id(v) for k, v in caches.items()}


def test_inference_leaves_a_prepared_kgat_untouched(shared):
    """prepare_inference builds every cache; explaining then never assigns a model attribute."""
    ds, _, tm, ctx = shared
    snapshot = {k: id(v) for k, v in vars(tm.model).items()}
    _explanations(ctx)
    with torch.no_grad():
        tm.model.layer_embeddings()
        tm.model.score(torch.arange(3))
    assert {k: id(v) for k, v in vars(tm.model).items()} == snapshot
