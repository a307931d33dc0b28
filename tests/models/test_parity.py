"""DGL layers against the plain torch.sparse references of core/models/reference.py."""

import dgl
import numpy as np
import torch

from core.graph import interaction_graph
from core.models.base import ModelInputs
from core.models.kgat import KGAT, KGATConfig
from core.models.layers import normalised_propagate, symmetric_norm
from core.models.lightgcn import LightGCN, LightGCNConfig
from core.models.reference import (
    kgat_attention_reference,
    kgat_bi_interaction_reference,
    lightgcn_reference,
)

# the paper's bi-interaction layers (no longer the KGATConfig default)
BI = {"aggregator": "bi-interaction", "combine": "concat", "normalize": True}


CPU = torch.device("cpu")


def _random_inputs(seed: int = 0) -> ModelInputs:
    rng = np.random.default_rng(seed)
    n_users, n_items, n_entities, n_rel = 7, 9, 14, 3
    train = np.stack([rng.integers(0, n_users, 40), rng.integers(0, n_items, 40)], 1)
    kg = np.stack(
        [
            rng.integers(0, n_items, 25),
            rng.integers(0, n_rel, 25),
            rng.integers(n_items, n_entities, 25),
        ],
        1,
    )
    return ModelInputs(n_users, n_items, n_entities, n_rel, train, kg, ("a", "b", "c"))


def test_lightgcn_fast_and_weighted_paths_match_reference():
    inputs = _random_inputs()
    torch.manual_seed(0)
    model = LightGCN.build(inputs, LightGCNConfig(dim=8, n_layers=3), CPU)
    src, dst = model.graph.edges()
    x = model.embedding.weight.detach()
    expected = lightgcn_reference(src, dst, x, 3)
    torch.testing.assert_close(model.propagate().detach(), expected, atol=1e-5, rtol=1e-5)
    weight = torch.rand(model.graph.num_edges(), generator=torch.Generator().manual_seed(1))
    weighted = lightgcn_reference(src, dst, x, 3, edge_weight=weight)
    torch.testing.assert_close(model.propagate(weight).detach(), weighted, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(weighted, expected, atol=1e-3)  # the weights did something


def test_normalised_layer_matches_reference_on_a_graph_with_isolated_nodes():
    g = interaction_graph(4, 5, np.array([[0, 1], [0, 2], [1, 2], [3, 4]]))
    g = dgl.add_nodes(g, 2)  # isolated nodes: degree clamped to 1, output zero
    x = torch.randn(g.num_nodes(), 6, generator=torch.Generator().manual_seed(2))
    src, dst = g.edges()
    one_layer = normalised_propagate(g, x, symmetric_norm(g))
    expected = 2 * lightgcn_reference(src, dst, x, 1) - x  # mean of (x, Ax) -> Ax
    torch.testing.assert_close(one_layer, expected, atol=1e-5, rtol=1e-5)


def _kgat(inputs: ModelInputs, config: KGATConfig) -> KGAT:
    torch.manual_seed(0)
    return KGAT.build(inputs, config, CPU)


def test_kgat_attention_is_softmax_over_each_heads_triples():
    inputs = _random_inputs()
    model = _kgat(inputs, KGATConfig(dim=8, relation_dim=6, layer_dims=(8, 4), **BI))
    src, dst = model.ckg.edges()
    rel = model.ckg.edata["rel"]
    # eq. 4 written per edge, without the relation grouping
    emb, proj = model.node.weight.detach(), model.scorer.projection.detach()
    head = torch.einsum("ed,edk->ek", emb[src], proj[rel])
    tail = torch.einsum("ed,edk->ek", emb[dst], proj[rel])
    logits = (tail * torch.tanh(head + model.scorer.relation.weight.detach()[rel])).sum(1)
    torch.testing.assert_close(model.attention_logits, logits, atol=1e-5, rtol=1e-5)
    expected = kgat_attention_reference(src, dst, logits, model.ckg.num_nodes())
    torch.testing.assert_close(model.edge_attention(), expected, atol=1e-5, rtol=1e-5)
    sums = torch.zeros(model.ckg.num_nodes()).index_add_(0, src, model.edge_attention())
    has_out = model.ckg.out_degrees() > 0
    torch.testing.assert_close(sums[has_out], torch.ones(int(has_out.sum())))


def test_kgat_bi_interaction_propagation_matches_reference():
    inputs = _random_inputs(3)
    model = _kgat(inputs, KGATConfig(dim=8, relation_dim=6, layer_dims=(8, 4), **BI))
    model.eval()
    src, dst = model.ckg.edges()
    att = model.edge_attention()
    h = model.node.weight.detach()
    expected = [h]
    for layer in model.layers:
        w1, w2 = layer.w1, layer.w2
        h = kgat_bi_interaction_reference(
            src, dst, att, h, w1.weight.T, w1.bias, w2.weight.T, w2.bias
        ).detach()
        expected.append(torch.nn.functional.normalize(h, dim=1))
    got = model.layer_embeddings()
    assert [g.shape for g in got] == [(model.ckg.num_nodes(), d) for d in (8, 8, 4)]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)


def test_kgat_training_propagation_restricted_to_users_and_items_matches_full():
    inputs = _random_inputs(4)
    for dims in ((8,), (8, 4, 4)):
        model = _kgat(inputs, KGATConfig(dim=8, relation_dim=6, layer_dims=dims, **BI))
        full = torch.cat(model.layer_embeddings(), 1)
        with torch.no_grad():
            restricted = model._cf_final(dropout=False)
        torch.testing.assert_close(restricted, full[model._cf_nodes], atol=1e-6, rtol=1e-5)


def test_segment_matmul_matches_per_segment_products_in_value_and_gradient():
    from core.models.layers import segment_matmul

    torch.manual_seed(0)
    seglen = torch.tensor([3, 0, 5, 1])  # an empty segment costs nothing and gets zero grad
    x = torch.randn(9, 4, requires_grad=True)
    w = torch.randn(4, 4, 2, requires_grad=True)
    out = segment_matmul(x, w, seglen)
    starts = [0, 3, 3, 8]
    ref = torch.cat(
        [x[s : s + n] @ w[r] for r, (s, n) in enumerate(zip(starts, seglen.tolist(), strict=True))]
    )
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    gx, gw = torch.autograd.grad(out, (x, w), g)
    rx, rw = torch.autograd.grad(ref, (x, w), g)
    torch.testing.assert_close(gx, rx)
    torch.testing.assert_close(gw, rw)
    assert torch.count_nonzero(gw[1]) == 0


def test_kgat_fixed_attention_products_follow_attention_updates_and_match_dgl():
    inputs = _random_inputs(5)
    model = _kgat(inputs, KGATConfig(dim=8, relation_dim=6, layer_dims=(8, 4), **BI))
    model.eval()

    def dgl_path():  # the edge-weighted DGL kernels, which the explainers differentiate through
        return model._propagate(model._agg, model.node.weight, model.attention, dropout=False)

    before = model.layer_embeddings()
    with torch.no_grad():  # a new attention, as after a KG phase or loading other weights
        model.attention.copy_(dgl.ops.edge_softmax(model._agg, torch.randn(model.ckg.num_edges())))
    after = model.layer_embeddings()
    assert not torch.allclose(before[-1], after[-1])
    for got, want in zip(after, dgl_path(), strict=True):
        torch.testing.assert_close(got, want.detach(), atol=1e-5, rtol=1e-5)
    # gradients of the training path (CSR products) equal those through DGL's kernels
    weights = torch.randn(len(model._cf_nodes), sum((8, 8, 4)))
    (model._cf_final(dropout=False) * weights).sum().backward()
    fast = model.node.weight.grad.clone()
    model.node.weight.grad = None
    (torch.cat(dgl_path(), 1)[model._cf_nodes] * weights).sum().backward()
    torch.testing.assert_close(fast, model.node.weight.grad, atol=1e-5, rtol=1e-4)
