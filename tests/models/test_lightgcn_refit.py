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


# --- the edited propagation works on the edit's region only ---------------------------------
def _popular_inputs():
    """Two parts that share no node. Part one: users 0..29 over items 0..19, items 0 and 1 in
    every history (high degree: their rows' normalisation moves with every edit). Part two:
    users 30..59 over items 20..39, three items each: the graph beyond the edit's reach."""
    import numpy as np

    from core.models.base import ModelInputs

    gen = np.random.default_rng(0)
    rows = []
    for u in range(30):
        others = gen.choice(np.arange(2, 20), size=int(gen.integers(2, 6)), replace=False)
        rows += [(u, int(i)) for i in sorted({0, 1, *others.tolist()})]
    for u in range(30, 60):
        rows += [(u, int(i)) for i in gen.choice(np.arange(20, 40), size=3, replace=False)]
    train = np.array(rows, dtype=np.int64)
    return ModelInputs(60, 40, 40, 0, train, np.zeros((0, 3), dtype=np.int64), ())


def _popular_model(n_layers: int = 3):
    inputs = _popular_inputs()
    torch.manual_seed(0)
    model = build_model("lightgcn", inputs, {"dim": 8, "n_layers": n_layers})
    run_steps(model, inputs, 3)
    model.eval()
    model.prepare_inference()
    return inputs, model


def _edit_patterns(inputs, user: int) -> list[torch.Tensor]:
    """Histories of `user`: all of it, without a popular item, without a rare one, without
    both popular items, a single item left, empty, and one with an item of part two added."""
    full = torch.as_tensor(inputs.train[inputs.train[:, 0] == user, 1])
    rare = full[full > 1]
    return [
        full,
        full[full != 0],
        full[full != rare[0]],
        rare,
        full[:1],
        full[:0],
        torch.cat([full[1:], torch.tensor([25])]),
    ]


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_edited_rescoring_equals_the_rebuilt_graph_for_every_edit_pattern(n_layers):
    inputs, model = _popular_model(n_layers)
    items = torch.arange(inputs.n_items)
    for user in (3, 17):
        histories = _edit_patterns(inputs, user)
        params = torch.randn(len(histories), 8, generator=torch.Generator().manual_seed(user))
        for user_params in (None, params):  # one batched call of every pattern
            fast = model.score_with_histories(user, histories, items, user_params)
            for b, history in enumerate(histories):
                own = None if user_params is None else user_params[b]
                ref = model.reference_scores(user, history, items, own)
                torch.testing.assert_close(fast[b], ref, atol=1e-5, rtol=1e-5)
        # a subset of items, in any order, repeats allowed
        some = torch.tensor([25, 0, 7, 0, 1])
        torch.testing.assert_close(
            model.score_with_histories(user, histories, some),
            model.score_with_histories(user, histories, items)[:, some],
            atol=1e-6,
            rtol=1e-6,
        )


@pytest.mark.parametrize("anchored", [False, True])
def test_refit_equals_the_region_free_refit_with_high_degree_items(anchored):
    inputs, model = _popular_model()
    histories = _edit_patterns(inputs, 3)
    if anchored:  # the anchor is the full history, last
        histories = histories[1:] + histories[:1]
    config = RefitConfig(steps=10, anchored=anchored)
    check_refit_equals_region_free(model, inputs.n_items, 3, histories, config, _region_free_refit)


def _out_region(model, rows: torch.Tensor, hops: int) -> list[torch.Tensor]:
    """reach[l]: the rows within l hops (along graph out-edges) of `rows`, l = 0..hops."""
    reach = [torch.unique(rows)]
    for _ in range(hops):
        reach.append(torch.unique(torch.cat([reach[-1], model.graph.out_edges(reach[-1])[1]])))
    return reach


def test_edited_propagation_processes_only_the_edits_region():
    from core.models.rescoring.lightgcn_region import EditedPropagation

    inputs, model = _popular_model()
    user = 3
    histories = _edit_patterns(inputs, user)[:-1]  # part two stays out of reach
    edits = model.rescorer().edits(user, histories)
    prop = EditedPropagation(model.graph, model._base_layers(), edits, gain=True)
    reach = _out_region(model, edits.rows, 3)
    out_degree = model.graph.out_degrees
    # layers 1 and 2 on the rows within 1 and 2 hops of the edited rows, along their out-edges
    assert prop.work.rows == [len(reach[1]), len(reach[2])]
    assert prop.work.edges == [int(out_degree(r).sum()) for r in reach[:2]]
    items = torch.arange(inputs.n_items)
    prop.scores(items + model.n_users, torch.randn(len(histories), 9))
    # the last layer: only edges from the rows changed at layer 2 into item rows
    into_items = model.graph.out_edges(reach[2])[1] >= model.n_users
    assert prop.work.edges[2] == int(into_items.sum())
    # part two (half of the 100 nodes) is never visited: at most part one's rows and edges
    part_one = 2 * int((inputs.train[:, 0] < 30).sum())
    assert model.graph.num_nodes() == 100 and max(prop.work.rows) <= 50
    assert max(prop.work.edges) <= part_one < model.graph.num_edges()


def test_edited_propagation_reads_stored_layers_only_at_the_edited_rows():
    """Every stored layer row except the edited rows' and the user's history items' is NaN:
    re-scoring and re-fitting still give the same numbers, so nothing else is read (the
    change is propagated, not the layers)."""
    import dataclasses

    inputs, model = _popular_model()
    user = 3
    histories = _edit_patterns(inputs, user)
    items = torch.arange(inputs.n_items)
    config = RefitConfig(steps=5, anchored=False)
    clean = model.score_with_histories(user, histories, items)
    clean_refit = model.refit_histories(user, histories, items, config)
    edits = model.rescorer().edits(user, histories)
    keep = torch.unique(torch.cat([edits.rows, edits.src[edits.row == 0]]))
    poisoned = []
    for layer in model._base.layers:
        bad = torch.full_like(layer, float("nan"))
        bad[keep] = layer[keep]
        poisoned.append(bad)
    model._base = dataclasses.replace(model._base, layers=poisoned)
    torch.testing.assert_close(model.score_with_histories(user, histories, items), clean)
    refit = model.refit_histories(user, histories, items, config)
    torch.testing.assert_close(refit.scores, clean_refit.scores)
    torch.testing.assert_close(refit.params, clean_refit.params)
