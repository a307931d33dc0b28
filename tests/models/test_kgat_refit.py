"""KGAT's re-fit fast paths against a region-free re-fit written here.

The re-fit objective (core.models.rescoring.kgat): the user's final embedding in each edited
CKG as a function of its layer-0 embedding e, against the candidates' final embeddings of that
edited CKG with the learned e. The independent version below builds every edited CKG from
scratch and propagates every node through it on every Adam step (autograd through the whole
graph), then runs the same `fit`: the model's affine path (light layers, no normalisation) and
its region-restricted path (`_local_user`, every other configuration) must give the same
parameters and scores to 1e-5.
"""

from __future__ import annotations

import dgl
import pytest
import torch

from core.models.refit import RefitConfig, fit, history_mask, negatives
from core.models.registry import build_model
from core.models.rescoring.kgat import KGATRescorer
from tests.models.tiny import (
    check_refit_equals_region_free,
    check_sample_refit,
    run_steps,
    tiny_inputs,
)

BI = {"aggregator": "bi-interaction", "combine": "concat", "normalize": True}
LIGHT = {"aggregator": "light", "combine": "mean", "normalize": False}
SMALL = {"dim": 8, "relation_dim": 8}
CONFIGS = {
    "light": {**SMALL, "layer_dims": (8, 8), **LIGHT},  # the default's layers (affine)
    "light-concat": {**SMALL, "layer_dims": (8, 8), **LIGHT, "combine": "concat"},  # affine
    "light-3": {**SMALL, "layer_dims": (8, 8, 8), **LIGHT},  # affine
    "light-normalised": {**SMALL, "layer_dims": (8, 8), **LIGHT, "normalize": True},
    "paper": {**SMALL, "layer_dims": (8, 4, 4), **BI},  # kgat.PAPER's layers, smaller
    "paper-1": {**SMALL, "layer_dims": (8,), **BI},
}
AFFINE = {"light", "light-concat", "light-3"}
# user 5 trains on items 2, 6, 7, 3: removals, the empty history, an added item (0); the full
# history last (what the explanation context's anchor column is)
HISTORIES = [
    torch.tensor([2]),
    torch.tensor([6, 7]),
    torch.tensor([], dtype=torch.long),
    torch.tensor([0, 2, 6]),
    torch.tensor([2, 6, 7, 3]),
]


def _trained(key: str, inputs):
    torch.manual_seed(0)
    model = build_model("kgat", inputs, CONFIGS[key])
    run_steps(model, inputs, 5)
    model.eval()
    model.prepare_inference()
    return model


def _edited_graph(model, user: int, history: torch.Tensor):
    """The edited CKG's aggregation graph and attention, built as `reference_scores` does."""
    node = model.n_entities + user
    hist = history.long().unique()
    keep = (model._src != node) & (model._dst != node)
    n_rel = len(model.relation_names)
    src = torch.cat([model._src[keep], torch.full_like(hist, node), hist])
    dst = torch.cat([model._dst[keep], hist, torch.full_like(hist, node)])
    rel = torch.cat(
        [model._rel[keep], torch.full_like(hist, n_rel - 2), torch.full_like(hist, n_rel - 1)]
    )
    new = slice(int(keep.sum()), None)
    with torch.no_grad():
        logits = torch.cat(
            [model.attention_logits[keep], model._attention_logits(src[new], rel[new], dst[new])]
        )
    agg = dgl.graph((dst, src), num_nodes=model.ckg.num_nodes())
    return agg, dgl.ops.edge_softmax(agg, logits)


def _final(model, graph, node: int, e: torch.Tensor) -> torch.Tensor:
    """Every node's final embedding in one edited CKG with the user's layer-0 row set to e."""
    agg, attention = graph
    x0 = model.node.weight.detach().clone()
    x0 = torch.cat([x0[:node], e.unsqueeze(0), x0[node + 1 :]])
    return model.combine(model._propagate(agg, x0, attention, dropout=False))


def _region_free_refit(model, user: int, histories, config: RefitConfig):
    """The re-fit objective with a full propagation of every edited CKG on every step."""
    node = model.n_entities + user
    graphs = [_edited_graph(model, user, h) for h in histories]
    learned = model.node.weight[node].detach()
    full = model.ckg.successors(node)
    pos = torch.unique(torch.cat([full, *histories]))
    cand = torch.cat([pos, negatives(model.n_items, pos, user, config)])
    with torch.no_grad():
        cand_final = torch.stack([_final(model, g, node, learned)[cand] for g in graphs], 1)

    def objective(e):
        user_final = torch.stack([_final(model, g, node, e[b])[node] for b, g in enumerate(graphs)])
        reg = model.config.reg * user_final.pow(2).sum(1) / 2
        return torch.einsum("mbd,bd->bm", cand_final, user_final), reg

    init = learned.unsqueeze(0).repeat(len(histories), 1)
    return fit(init, objective, history_mask(pos, list(histories)), config)


@pytest.mark.parametrize("key", list(CONFIGS))
@pytest.mark.parametrize("anchored", [False, True])
def test_refit_equals_the_region_free_refit(key, anchored):
    inputs = tiny_inputs()
    model = _trained(key, inputs)
    assert model.rescorer().is_affine() == (key in AFFINE)
    config = RefitConfig(steps=10, anchored=anchored)
    got = check_refit_equals_region_free(
        model, inputs.n_items, 5, HISTORIES, config, _region_free_refit
    )
    assert not torch.allclose(got.params[0], got.params[-1], atol=1e-3)  # the fit moved them
    if anchored:  # the full history's column stays at the learned embedding
        torch.testing.assert_close(got.params[-1], model.node.weight[5 + inputs.n_entities])


@pytest.mark.parametrize("key", sorted(AFFINE))
def test_affine_refit_equals_the_region_restricted_refit(key):
    inputs = tiny_inputs()
    model = _trained(key, inputs)
    items = torch.arange(inputs.n_items)
    config = RefitConfig(steps=10, anchored=True)
    fast = model.rescorer().refit_affine(5, HISTORIES, items, config)
    general = model.rescorer().refit_general(5, HISTORIES, items, config)
    torch.testing.assert_close(fast.params, general.params, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast.scores, general.scores, atol=1e-5, rtol=1e-5)


def test_the_affine_shortcut_would_be_wrong_with_normalised_layers(monkeypatch):
    """Normalising each layer makes the final embedding non-linear in e: forcing the affine
    path there gives a different (wrong) fit, so `_is_affine` must keep it out."""
    inputs = tiny_inputs()
    model = _trained("light-normalised", inputs)
    config = RefitConfig(steps=10)
    items = torch.arange(inputs.n_items)
    expected = _region_free_refit(model, 5, HISTORIES, config)
    monkeypatch.setattr(KGATRescorer, "is_affine", lambda self: True)
    forced = model.refit_histories(5, HISTORIES, items, config)
    assert (forced.params - expected).abs().max() > 1e-3


def test_gain_channel_refuses_non_affine_layers():
    inputs = tiny_inputs()
    model = _trained("paper", inputs)
    rescorer = model.rescorer()
    edits, attention = rescorer.edits(5, HISTORIES)
    with pytest.raises(ValueError, match="affine"):
        rescorer.delta(edits, attention, None, gain=True)


@pytest.fixture(scope="module")
def sample_inputs():
    from core.data import load_dataset, split_dataset
    from core.models.base import ModelInputs

    ds = load_dataset("sample")
    return ModelInputs.from_dataset(ds, split_dataset(ds, method="random", seed=2020))


@pytest.mark.parametrize(
    "over",
    [
        {"layer_dims": (64, 64), **LIGHT},  # the sample's first-launch KGAT's layers
        {"dim": 16, "relation_dim": 16, "layer_dims": (16, 8), **BI},
    ],
    ids=["light", "paper"],
)
def test_refit_equals_the_region_free_refit_on_the_sample(over, sample_inputs):
    torch.manual_seed(0)  # untrained weights; attention from them
    model = build_model("kgat", sample_inputs, over)
    model.eval()
    check_sample_refit(model, sample_inputs, _region_free_refit)
