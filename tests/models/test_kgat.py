"""KGAT: smoke tests of both variants, alternating phases, attention, explanation accessors."""

import dataclasses

import pytest
import torch

from core.models import kgat_layers
from core.models import layers as shared_layers
from core.models.kgat import KGAT
from core.models.kgat_config import PAPER as PAPER_DEFAULT
from core.models.kgat_config import RECBOLE_DEFAULT, KGATConfig
from tests.models.tiny import (
    check_contract,
    check_history_rescoring,
    run_steps,
    tiny_inputs,
    trained_scores,
)

CPU = torch.device("cpu")
PAPER = dataclasses.replace(PAPER_DEFAULT, kg_lr=0.01)
RECBOLE = dataclasses.replace(RECBOLE_DEFAULT, kg_lr=0.01)


def _model(config: KGATConfig = PAPER) -> KGAT:
    torch.manual_seed(0)
    return KGAT.build(tiny_inputs(), config, CPU)


@pytest.mark.parametrize("config", [PAPER, RECBOLE], ids=["paper", "recbole"])
def test_one_epoch_smoke_and_contract(config):
    check_contract(_model(config), tiny_inputs(), lr=0.01)


def test_variants_have_the_documented_layers():
    paper, recbole = _model(PAPER), _model(RECBOLE)
    assert [e.shape[1] for e in paper.layer_embeddings()] == [64, 64, 32, 16]
    assert [e.shape[1] for e in recbole.layer_embeddings()] == [64, 64]
    assert paper.entity_embeddings().shape == (12, 64 + 64 + 32 + 16)
    # RecBole's TransR reads the KG's own triples; the paper's all CKG triples
    assert len(recbole._kg_triples) == len(tiny_inputs().kg)
    assert len(paper._kg_triples) == paper.ckg.num_edges()


def test_deterministic_given_seed():
    inputs = tiny_inputs()
    build = lambda: KGAT.build(inputs, PAPER, CPU)  # noqa: E731
    assert torch.equal(
        trained_scores(build, inputs, lr=0.01), trained_scores(build, inputs, lr=0.01)
    )


def test_kg_phase_lowers_the_transr_loss_and_refreshes_attention():
    model = _model()
    generator = torch.Generator().manual_seed(0)
    before = model.edge_attention()
    losses = [model.on_epoch_end(e, generator)["kg_loss"] for e in range(15)]
    assert sum(losses[-5:]) / 5 < losses[0]
    assert not torch.allclose(model.edge_attention(), before)


def test_attention_is_a_buffer_constant_during_the_cf_phase():
    model = _model()
    assert "attention" in dict(model.named_buffers())
    before = model.edge_attention()
    inputs = tiny_inputs()
    users, items = torch.from_numpy(inputs.train).T
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(3):
        loss = model.loss(users, items, (items + 1) % inputs.n_items)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(model.edge_attention(), before)


def test_edge_attention_indexes_ckg_edges_with_relation_names():
    model = _model()
    att = model.edge_attention()
    assert att.shape == (model.ckg.num_edges(),)
    rel = model.ckg.edata["rel"]
    assert model.relation_names[int(rel.max())] == "~interacted"
    src = model.ckg.edges()[0]
    sums = torch.zeros(model.ckg.num_nodes()).index_add_(0, src, att)
    torch.testing.assert_close(sums, torch.ones_like(sums))  # every node has out-edges here


def test_score_with_history_matches_full_history_and_changes_without_it():
    inputs = tiny_inputs()
    model = _model()
    run_steps(model, inputs, 5, lr=0.01)
    model.eval()
    model.prepare_inference()
    check_history_rescoring(model, inputs)


def test_inference_leaves_the_shared_graph_and_buffers_untouched():
    model = _model()
    model.eval()
    keys = (list(model.ckg.ndata.keys()), list(model.ckg.edata.keys()))
    edges = model.ckg.num_edges()
    att = model.edge_attention()
    model.score(torch.arange(3))
    model.score_with_history(0, torch.tensor([5, 6]), torch.arange(8))
    model.layer_embeddings()
    assert (list(model.ckg.ndata.keys()), list(model.ckg.edata.keys())) == keys
    assert model.ckg.num_edges() == edges
    assert torch.equal(model.edge_attention(), att)


def test_weights_and_attention_round_trip_through_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file

    inputs = tiny_inputs()
    model = _model()
    run_steps(model, inputs, 3, lr=0.01)  # ends with a KG phase and an attention refresh
    model.eval()
    save_file(model.state_dict(), tmp_path / "weights.safetensors")
    torch.manual_seed(99)  # a different initialisation, then the saved weights
    again = KGAT.build(inputs, PAPER, CPU)
    again.load_state_dict(load_file(tmp_path / "weights.safetensors"))
    again.eval()
    assert torch.equal(again.edge_attention(), model.edge_attention())
    torch.testing.assert_close(again.score(torch.arange(6)), model.score(torch.arange(6)))


def test_recbole_variant_reachable_through_the_registry():
    from core.models.registry import build_model

    torch.manual_seed(0)
    over = {**dataclasses.asdict(RECBOLE_DEFAULT), "layer_dims": [64]}  # JSON gives lists
    model = build_model("kgat", tiny_inputs(), over)
    assert isinstance(model, KGAT) and model.config == RECBOLE_DEFAULT


def test_unit_edge_weights_reproduce_scores_and_give_gradients():
    model = _model()
    run_steps(model, tiny_inputs(), 3, lr=0.01)
    model.eval()
    users, items = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    weight = torch.ones(model.ckg.num_edges(), requires_grad=True)
    scores = model.score_pairs_with_edge_weight(users, items, weight)
    torch.testing.assert_close(scores, model.score_pairs(users, items), atol=1e-5, rtol=1e-5)
    scores.sum().backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0


# issue 14's default (two light layers of 64, mean-combined), the sample's layers at width 64
ISSUE14_LIGHT = KGATConfig(
    layer_dims=(64, 64), aggregator="light", combine="mean", normalize=False, mess_dropout=0.1
)
LIGHT = KGATConfig(
    dim=16,
    relation_dim=16,
    layer_dims=(16, 16),
    aggregator="light",
    combine="mean",
    normalize=False,
    kg_lr=0.01,
)


def _full_edge_weighted_scores(model: KGAT, users, items, weight):
    """The definition: every node propagated over the whole CKG with attention * weight."""
    layers = model._propagate(model._agg, model.node.weight, model.attention * weight, False)
    final = model.combine(layers)
    return (final[users + model.n_entities] * final[items]).sum(1)


def _assert_local_equals_full(model: KGAT, users, items, monkeypatch):
    import dgl

    scale = torch.linspace(0.5, 1.5, len(users))
    local = torch.ones(model.ckg.num_edges(), requires_grad=True)
    with monkeypatch.context() as m:  # the local pass never propagates the whole graph
        m.setattr(dgl.ops, "u_mul_e_sum", lambda *a: pytest.fail("full propagation"))
        got = model.score_pairs_with_edge_weight(users, items, local)
        (grad,) = torch.autograd.grad((got * scale).sum(), local)
    full = torch.ones(model.ckg.num_edges(), requires_grad=True)
    ref = _full_edge_weighted_scores(model, users, items, full)
    (ref_grad,) = torch.autograd.grad((ref * scale).sum(), full)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-6)
    return grad


@pytest.mark.parametrize("name", ["paper", "light"])
def test_local_edge_weighted_scores_equal_the_full_propagation(name, monkeypatch):
    """Edge attribution (gradient x edge weight) runs on the pairs' in-neighbourhood only, with
    the full propagation's value and gradient: bi-interaction (weights, LeakyReLU, L2-normalised
    concatenation) and light layers alike."""
    torch.manual_seed(0)
    model = _model(PAPER if name == "paper" else LIGHT)
    run_steps(model, tiny_inputs(), 3, lr=0.01)
    model.eval()
    model.refresh_attention()
    _assert_local_equals_full(model, torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3]), monkeypatch)


def test_local_edge_weighted_scores_equal_the_full_propagation_on_the_sample(monkeypatch):
    """On the bundled sample KGAT a pair's region is a small part of the graph: the edges
    outside it get exactly zero gradient, as in the full propagation."""
    from core.data import load_dataset
    from core.store import load_artifact
    from core.store.workspace import BUNDLE

    ds = load_dataset("sample")
    model = load_artifact(BUNDLE / "kgat", ds, "cpu").model
    grad = _assert_local_equals_full(
        model, torch.tensor([3, 17]), torch.tensor([5, 40]), monkeypatch
    )
    assert 0 < (grad != 0).sum() < model.ckg.num_edges() // 4


def test_light_aggregator_is_the_attention_weighted_neighbour_mean_of_layers():
    inputs = tiny_inputs()
    model = _model(LIGHT)
    run_steps(model, inputs, 3)
    model.eval()
    att, (src, dst) = model.edge_attention(), model.ckg.edges()
    # by hand: layer l+1 of head h = sum over its triples (h, r, t) of pi * layer l of t
    h0 = model.node.weight.detach()
    layers = [h0]
    for _ in range(2):
        nxt = torch.zeros_like(h0).index_add_(0, src, att.unsqueeze(1) * layers[-1][dst])
        layers.append(nxt)
    final = torch.stack(layers).mean(0)
    torch.testing.assert_close(model.entity_embeddings(), final[: inputs.n_entities])
    users = torch.arange(inputs.n_users)
    expected = final[users + inputs.n_entities] @ final[: inputs.n_items].T
    torch.testing.assert_close(model.score(users), expected, atol=1e-5, rtol=1e-5)
    assert not list(model.layers.parameters())  # weightless layers


def test_light_aggregator_trains_and_keeps_the_contract():
    check_contract(_model(LIGHT), tiny_inputs(), lr=0.01)


@pytest.mark.parametrize(
    "bad",
    [
        {"aggregator": "mean-pool"},
        {"combine": "sum"},
        {"aggregator": "light", "layer_dims": (64, 32)},
        {"combine": "mean", "layer_dims": (32,)},
    ],
)
def test_config_names_the_bad_field(bad):
    field = next(iter(bad))
    with pytest.raises(ValueError, match=field):
        KGATConfig(**bad)


@pytest.mark.parametrize(
    "config",
    [KGATConfig(), ISSUE14_LIGHT, PAPER, RECBOLE],
    ids=["default", "light", "paper", "recbole"],
)
def test_prepare_inference_propagates_once_for_scores_and_rescoring_cache(config, monkeypatch):
    # evaluation calls prepare_inference: the final embeddings and the re-scoring cache come
    # from one propagation (the old code propagated once for each), with the same values
    model = _model(config)
    model.eval()
    calls = []
    real = kgat_layers.CSRAggregation.__call__
    monkeypatch.setattr(
        kgat_layers.CSRAggregation, "__call__", lambda self, x: calls.append(1) or real(self, x)
    )
    model.prepare_inference()
    n_layers = len(model.layers)
    assert len(calls) == n_layers  # one aggregation per layer (the old code: 2-3 per layer)
    final, cache = model._final, model._hidden_cache
    model._final = model._hidden_cache = None  # what the model computes without the caches
    assert torch.equal(final, model.combine(model.layer_embeddings()))
    with torch.no_grad():
        hidden, aggregations = model._rescoring_cache(model._attended()[0])
    assert len(cache[0]) == len(hidden) == n_layers + 1
    for got, want in zip(cache[0] + cache[1], hidden + aggregations, strict=True):
        assert torch.equal(got, want)


@pytest.mark.parametrize("n_parts", [1, 2, 3, 4])
def test_mean_combine_is_the_stacked_mean_bit_for_bit_in_value_and_gradient(n_parts):
    model = _model(ISSUE14_LIGHT)
    gen = torch.Generator().manual_seed(n_parts)
    parts = [torch.randn(300, 64, generator=gen, requires_grad=True) for _ in range(n_parts)]
    weights = torch.randn(300, 64, generator=gen)
    ours = model.combine(parts)
    reference = torch.stack(parts).mean(0)
    assert torch.equal(ours, reference)
    grads = torch.autograd.grad((ours * weights).sum(), parts)
    ref_grads = torch.autograd.grad((reference * weights).sum(), parts)
    for g, r in zip(grads, ref_grads, strict=True):
        assert torch.equal(g, r)


def test_csr_aggregation_is_fixed_aggregation_bit_for_bit_with_repeated_edges():
    # KGAT's CKG has the same (head, tail) under up to 9 relations: the pattern must sum the
    # weights of repeated edges in the order torch's coalesce does, and the products must be
    # the same, forward and backward
    gen = torch.Generator().manual_seed(0)
    n_src, n_dst, n_edges = 50, 30, 600  # 600 edges on 300 (src, dst) pairs: many repeats
    src = torch.randint(0, 10, (n_edges,), generator=gen) * 5
    dst = torch.randint(0, n_dst, (n_edges,), generator=gen)
    weight = torch.rand(n_edges, generator=gen)
    reference = shared_layers.FixedAggregation(src, dst, weight, n_src, n_dst)
    ours = kgat_layers.CSRPattern(src, dst, n_src, n_dst).with_weights(weight)
    assert torch.equal(ours.matrix.values(), reference.matrix.values())
    assert torch.equal(ours.transposed.values(), reference.transposed.values())
    x = torch.randn(n_src, 16, generator=gen, requires_grad=True)
    grad = torch.randn(n_dst, 16, generator=gen)
    out, ref = ours(x), reference(x)
    assert torch.equal(out, ref)
    assert torch.equal(*(torch.autograd.grad(y, x, grad)[0] for y in (out, ref)))


def test_message_dropout_is_the_masked_division_bit_for_bit_in_value_and_gradient():
    model = _model(KGATConfig(mess_dropout=0.3))
    model.on_train_begin(torch.Generator().manual_seed(5))
    state = model._dropout_gen.get_state()
    h = torch.randn(200, 64, generator=torch.Generator().manual_seed(6), requires_grad=True)
    ours = model._dropout(h, active=True)
    model._dropout_gen.set_state(state)  # the same draw, by the formula it replaces
    keep = torch.rand(h.shape, generator=model._dropout_gen) >= 0.3
    reference = h * keep / (1 - 0.3)
    assert torch.equal(ours, reference)
    assert 0.6 < float(keep.float().mean()) < 0.8  # some rows are dropped: not the identity
    weights = torch.randn(200, 64, generator=torch.Generator().manual_seed(7))
    grads = [torch.autograd.grad((y * weights).sum(), h)[0] for y in (ours, reference)]
    assert torch.equal(*grads)


@pytest.mark.parametrize(
    "config", [KGATConfig(), ISSUE14_LIGHT, PAPER], ids=["default", "light", "paper"]
)
def test_refresh_projects_each_node_once_per_relation_with_the_per_edge_logits(config):
    # the same row products on fewer rows: equal to rounding (MKL may block a product of a few
    # rows differently; on ml-100k's CKG the logits came out bit for bit the same)
    model = _model(config)
    with torch.no_grad():
        model.node.weight.normal_(generator=torch.Generator().manual_seed(8))
        per_edge = model._attention_logits(model._src, model._rel, model._dst)
        torch.testing.assert_close(model._all_attention_logits(), per_edge, rtol=1e-6, atol=1e-6)
        model.refresh_attention()
    torch.testing.assert_close(model.attention_logits, per_edge, rtol=1e-6, atol=1e-6)
    assert per_edge.std() > 0.1  # logits that differ from edge to edge


def test_product_with_rows_has_the_two_node_gradient():
    # (A x, x[rows]) as one node: the backward adds the rows' gradient into the product's in
    # place instead of adding a zero-filled scatter; the same values and gradient
    gen = torch.Generator().manual_seed(3)
    src, dst = torch.randint(0, 40, (300,), generator=gen), torch.randint(0, 25, (300,))
    agg = kgat_layers.CSRPattern(src, dst, 40, 25).with_weights(torch.rand(300, generator=gen))
    rows = torch.randperm(40, generator=gen)[:15]
    x = torch.randn(40, 8, generator=gen, requires_grad=True)
    g_out, g_rows = torch.randn(25, 8, generator=gen), torch.randn(15, 8, generator=gen)
    out, picked = agg.with_rows(x, rows)
    assert torch.equal(out, agg(x)) and torch.equal(picked, x[rows])
    ours = torch.autograd.grad((out * g_out).sum() + (picked * g_rows).sum(), x)[0]
    two_nodes = torch.autograd.grad((agg(x) * g_out).sum() + (x[rows] * g_rows).sum(), x)[0]
    assert torch.equal(ours, two_nodes)
    only_rows = torch.autograd.grad((agg.with_rows(x, rows)[1] * g_rows).sum(), x)[0]
    assert torch.equal(only_rows, torch.autograd.grad((x[rows] * g_rows).sum(), x)[0])
