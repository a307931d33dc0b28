"""LightGCN: contract smoke test, edge-weight path, history re-scoring, read-only inference."""

import pytest
import torch

from core.models.lightgcn import LightGCN, LightGCNConfig
from tests.models.tiny import (
    check_contract,
    check_history_rescoring,
    run_steps,
    tiny_inputs,
    trained_scores,
)

CPU = torch.device("cpu")


def _model(config: LightGCNConfig | None = None) -> LightGCN:
    torch.manual_seed(0)
    return LightGCN.build(tiny_inputs(), config or LightGCNConfig(), CPU)


def test_one_epoch_smoke_and_contract():
    check_contract(_model(), tiny_inputs())


def test_two_layer_variant_smoke():
    check_contract(_model(LightGCNConfig(n_layers=2, dim=16)), tiny_inputs())


def test_deterministic_given_seed():
    inputs = tiny_inputs()
    build = lambda: LightGCN.build(inputs, LightGCNConfig(), CPU)  # noqa: E731
    assert torch.equal(trained_scores(build, inputs), trained_scores(build, inputs))


def test_unit_edge_weights_reproduce_scores_and_give_gradients():
    model = _model()
    run_steps(model, tiny_inputs(), 3)
    model.eval()
    users, items = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    weight = torch.ones(model.graph.num_edges(), requires_grad=True)
    scores = model.score_pairs_with_edge_weight(users, items, weight)
    torch.testing.assert_close(scores, model.score_pairs(users, items), atol=1e-5, rtol=1e-5)
    scores.sum().backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_score_with_history_matches_full_history_and_changes_without_it():
    inputs = tiny_inputs()
    model = _model()
    run_steps(model, inputs, 5)
    model.eval()
    model.prepare_inference()
    check_history_rescoring(model, inputs)


def test_inference_leaves_graph_and_model_untouched():
    model = _model()
    model.eval()
    before_edges = [e.clone() for e in model.graph.edges()]
    before_final = model._final
    model.score(torch.arange(3))
    model.score_with_history(0, torch.tensor([1]), torch.arange(8))
    model.score_pairs_with_edge_weight(
        torch.tensor([0]), torch.tensor([1]), torch.ones(model.graph.num_edges())
    )
    assert list(model.graph.ndata.keys()) == [] and list(model.graph.edata.keys()) == []
    assert all(torch.equal(a, b) for a, b in zip(before_edges, model.graph.edges(), strict=True))
    assert model._final is before_final


def test_prepared_embeddings_dropped_when_training_resumes():
    model = _model()
    model.eval()
    model.prepare_inference()
    cached = model.score(torch.arange(6))
    run_steps(model, tiny_inputs(), 2)  # calls model.train(), then changes the weights
    model.eval()
    assert not torch.allclose(model.score(torch.arange(6)), cached)


@pytest.mark.parametrize("block_share", [0.0, 1.0])  # full last layer / block of in-edges
def test_training_rows_match_full_propagation_in_value_and_gradient(block_share):
    for n_layers in (0, 1, 2, 3):
        model = _model(LightGCNConfig(n_layers=n_layers, dim=8))
        model.block_edge_share = block_share
        nodes = torch.tensor([0, 2, 2, model.n_users + 1, model.n_users + 4, 0])
        weights = torch.randn(len(nodes), 8)
        fast = model._final_rows(nodes)
        (fast * weights).sum().backward()
        grad_fast = model.embedding.weight.grad.clone()
        model.embedding.weight.grad = None
        full = model.propagate()[nodes]
        (full * weights).sum().backward()
        torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad_fast, model.embedding.weight.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_triples", [4, 40])  # 12 rows: fewer than the table; 120: more
def test_training_loss_matches_bpr_on_the_full_propagation_in_value_and_gradient(n_triples):
    import torch.nn.functional as F

    model = _model(LightGCNConfig(n_layers=2, dim=8, reg=0.1))
    gen = torch.Generator().manual_seed(3)
    users = torch.randint(0, model.n_users, (n_triples,), generator=gen)
    pos, neg = torch.randint(0, model.n_items, (2, n_triples), generator=gen)
    model.loss(users, pos, neg).backward()
    fast = model.embedding.weight.grad.clone()
    model.embedding.weight.grad = None
    final, w = model.propagate(), model.embedding.weight
    items_p, items_n = pos + model.n_users, neg + model.n_users
    x = (final[users] * final[items_p]).sum(1) - (final[users] * final[items_n]).sum(1)
    l2 = (w[users].pow(2).sum() + w[items_p].pow(2).sum() + w[items_n].pow(2).sum()) / 2
    ref = -F.logsigmoid(x).mean() + 0.1 * l2 / len(users)
    torch.testing.assert_close(model.loss(users, pos, neg), ref, rtol=1e-5, atol=1e-7)
    ref.backward()
    torch.testing.assert_close(fast, model.embedding.weight.grad, rtol=1e-5, atol=1e-7)


def _in_region(model: LightGCN, nodes: torch.Tensor) -> torch.Tensor:
    """bool [E]: the edges into rows within n_layers - 1 in-hops of `nodes`: all that the
    final embeddings of `nodes` are computed from."""
    rows = torch.unique(nodes)
    for _ in range(model.config.n_layers - 1):
        rows = torch.unique(torch.cat([rows, model.graph.in_edges(rows)[0]]))
    dst = model.graph.edges()[1]
    return torch.isin(dst, rows)


@pytest.mark.parametrize("n_layers", [0, 1, 2, 3])
def test_local_edge_weighted_scores_equal_the_full_propagation(n_layers):
    model = _model(LightGCNConfig(n_layers=n_layers, dim=8))
    run_steps(model, tiny_inputs(), 3)
    model.eval()
    gen = torch.Generator().manual_seed(n_layers)
    users, items = torch.tensor([0, 5, 5, 2]), torch.tensor([3, 0, 6, 6])
    scale = torch.arange(1.0, 5.0)
    for weight in (
        torch.ones(model.graph.num_edges()),
        torch.rand(model.graph.num_edges(), generator=gen),
    ):
        local = weight.clone().requires_grad_(True)
        got = model.score_pairs_with_edge_weight(users, items, local)
        full = weight.clone().requires_grad_(True)
        final = model.propagate(full)
        ref = (final[users] * final[items + model.n_users]).sum(1)
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
        if n_layers == 0:  # no message passes an edge: nothing to differentiate
            continue
        (grad,) = torch.autograd.grad((got * scale).sum(), local)
        (ref_grad,) = torch.autograd.grad((ref * scale).sum(), full)
        torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-5)
        assert grad.abs().sum() > 0


def test_edge_weighted_scores_never_read_weights_outside_the_pairs_region():
    """Weights of edges the pair's final embeddings are not computed from are NaN: the score
    is still that of unit weights and their attribution exactly zero (a full propagation
    spreads the NaNs into rows whose gradient is zero, and 0 x NaN is NaN)."""
    model = _model(LightGCNConfig(n_layers=2, dim=8))
    model.eval()
    users, items = torch.tensor([2]), torch.tensor([4])
    region = _in_region(model, torch.cat([users, items + model.n_users]))
    assert 0 < int(region.sum()) < model.graph.num_edges()
    weight = torch.where(region, 1.0, float("nan")).requires_grad_(True)
    got = model.score_pairs_with_edge_weight(users, items, weight)
    (grad,) = torch.autograd.grad(got.sum(), weight)
    torch.testing.assert_close(got, model.score_pairs(users, items), atol=1e-5, rtol=1e-5)
    assert torch.equal(grad[~region], torch.zeros(int((~region).sum())))
    assert torch.isfinite(grad).all() and grad[region].abs().sum() > 0


def test_local_edge_weighted_scores_equal_the_full_propagation_on_the_sample():
    from core.data import load_dataset, split_dataset
    from core.models.base import ModelInputs

    ds = load_dataset("sample")
    inputs = ModelInputs.from_dataset(ds, split_dataset(ds, method="random", seed=2020))
    torch.manual_seed(0)
    model = LightGCN.build(inputs, LightGCNConfig(), CPU)
    model.eval()
    users, items = torch.tensor([7, 7, 30]), torch.tensor([0, 11, 4])
    gen = torch.Generator().manual_seed(0)
    weight = 0.5 + torch.rand(model.graph.num_edges(), generator=gen)
    local = weight.clone().requires_grad_(True)
    got = model.score_pairs_with_edge_weight(users, items, local)
    (grad,) = torch.autograd.grad(got.sum(), local)
    full = weight.clone().requires_grad_(True)
    final = model.propagate(full)
    ref = (final[users] * final[items + model.n_users]).sum(1)
    (ref_grad,) = torch.autograd.grad(ref.sum(), full)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-5)
    assert 0 < int((grad != 0).sum()) < model.graph.num_edges()
