"""LightGCN's re-fit (one batched propagation of dim + 1 channels, closed-form gradient)
against a region-free re-fit written here: every edited graph built from scratch and
propagated through on every Adam step, autograd through all of it, the same `fit`."""

from __future__ import annotations

import dgl
import pytest
import torch

from core.models.layers import normalised_propagate, replace_node_edges, symmetric_norm
from core.models.refit import RefitConfig, fit, history_mask, negatives
from core.models.registry import build_model
from tests.models.tiny import (
    check_refit_equals_region_free,
    check_sample_refit,
    run_steps,
    tiny_inputs,
)

HISTORIES = [
    torch.tensor([2]),
    torch.tensor([6, 7]),
    torch.tensor([], dtype=torch.long),
    torch.tensor([0, 2, 6]),
    torch.tensor([2, 6, 7, 3]),
]


def _region_free_refit(model, user: int, histories, config: RefitConfig) -> torch.Tensor:
    n_users = model.n_users
    graphs = []
    for h in histories:
        src, dst = model.graph.edges()
        src, dst, _ = replace_node_edges(src, dst, user, h.long().unique() + n_users)
        g = dgl.graph((src, dst), num_nodes=model.graph.num_nodes())
        graphs.append((g, symmetric_norm(g)))

    def final(g, norm, e):
        x = model.embedding.weight.detach()
        layers = [torch.cat([x[:user], e.unsqueeze(0), x[user + 1 :]])]
        for _ in range(model.config.n_layers):
            layers.append(normalised_propagate(g, layers[-1], norm))
        return torch.stack(layers).mean(0)

    full = model.graph.successors(user) - n_users
    pos = torch.unique(torch.cat([full, *histories]))
    cand = torch.cat([pos, negatives(model.n_items, pos, user, config)]) + n_users

    def objective(e):
        rows = []
        for b, (g, norm) in enumerate(graphs):
            f = final(g, norm, e[b])
            rows.append(f[cand] @ f[user])
        return torch.stack(rows), model.config.reg * e.pow(2).sum(1) / 2

    init = model.embedding.weight[user].detach().unsqueeze(0).repeat(len(histories), 1)
    return fit(init, objective, history_mask(pos, list(histories)), config)


@pytest.mark.parametrize("anchored", [False, True])
def test_refit_equals_the_region_free_refit(anchored):
    inputs = tiny_inputs()
    torch.manual_seed(0)
    model = build_model("lightgcn", inputs, {"dim": 8})
    run_steps(model, inputs, 5)
    model.eval()
    model.prepare_inference()
    config = RefitConfig(steps=10, anchored=anchored)
    got = check_refit_equals_region_free(
        model, inputs.n_items, 5, HISTORIES, config, _region_free_refit
    )
    assert not torch.allclose(got.params[0], got.params[-1], atol=1e-3)


def test_refit_equals_the_region_free_refit_on_the_sample():
    from core.data import load_dataset, split_dataset
    from core.models.base import ModelInputs

    ds = load_dataset("sample")
    inputs = ModelInputs.from_dataset(ds, split_dataset(ds, method="random", seed=2020))
    torch.manual_seed(0)
    model = build_model("lightgcn", inputs, {})
    model.eval()
    check_sample_refit(model, inputs, _region_free_refit)


@pytest.mark.parametrize("n_layers", [0, 1, 2])
def test_edited_propagation_is_exact_at_every_depth(n_layers):
    inputs = tiny_inputs()
    torch.manual_seed(0)
    model = build_model("lightgcn", inputs, {"dim": 8, "n_layers": n_layers})
    model.eval()
    items = torch.arange(inputs.n_items)
    params = torch.randn(len(HISTORIES), 8, generator=torch.Generator().manual_seed(1))
    for user_params in (None, params):
        fast = model.score_with_histories(5, HISTORIES, items, user_params)
        for b, history in enumerate(HISTORIES):
            own = None if user_params is None else user_params[b]
            ref = model.reference_scores(5, history, items, own)
            torch.testing.assert_close(fast[b], ref, atol=1e-5, rtol=1e-5)
