"""Edge attribution (gradient x edge weight) through LightGCN's edge-weighted scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.explain import api, edges
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.registry import supported_methods
from tests.explain.conftest import ENTITY_NAMES, assert_edges_exist

# the paper's bi-interaction layers (no longer the KGATConfig default)
BI = {"aggregator": "bi-interaction", "combine": "concat", "normalize": True}


lightgcn = pytest.importorskip("core.models.lightgcn")


@pytest.fixture
def gcn_ctx(inputs) -> ExplainContext:
    model = lightgcn.LightGCN.build(inputs, lightgcn.LightGCNConfig(dim=2, n_layers=2), "cpu")
    with torch.no_grad():  # users 0..2, then items 0..4: item 0 aligned with item 1
        model.embedding.weight.copy_(torch.tensor(
            [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0],
             [1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.0, 1.0], [0.3, 0.3]]
        ))  # fmt: skip
    model.eval()
    model.prepare_inference()
    return ExplainContext.build(model, inputs, entity_names=ENTITY_NAMES)


def test_attribution_equals_the_numerical_derivative(gcn_ctx):
    model, g = gcn_ctx.model, gcn_ctx.model.graph
    attr = edges.attribution(gcn_ctx, 0, 1)
    u, i = torch.tensor([0]), torch.tensor([1])
    src, dst = (t.numpy() for t in g.edges())
    for e in range(g.num_edges()):
        w = torch.ones(g.num_edges(), dtype=torch.float64)
        w[e] = 1 + 1e-4
        hi = model.score_pairs_with_edge_weight(u, i, w.float()).item()
        w[e] = 1 - 1e-4
        lo = model.score_pairs_with_edge_weight(u, i, w.float()).item()
        s = src[e] + gcn_ctx.n_entities if src[e] < 3 else src[e] - 3
        d = dst[e] + gcn_ctx.n_entities if dst[e] < 3 else dst[e] - 3
        eid = gcn_ctx.ckg.find(np.array([s]), np.array([d]))[0]
        assert attr[eid] == pytest.approx((hi - lo) / 2e-4, abs=2e-3)


def test_edges_explanation_finds_the_aligned_history_item(gcn_ctx):
    assert "edges" in supported_methods(gcn_ctx.model)
    expl = api.explain(gcn_ctx, 0, 1, "edges")
    assert isinstance(expl, Explanation) and expl.method == "edges"
    hist = [c for c in expl.contributions if c.kind == "history_item"]
    assert hist[0].id == "i:0"  # item 0 is aligned with item 1, item 2 is orthogonal
    edge_contribs = [c for c in expl.contributions if c.kind == "edge"]
    assert edge_contribs and all(" -" in c.id for c in edge_contribs)
    # LightGCN has no KG edges: only the collaborative path u0 -> i0 -> u1 -> i1 carries weight
    assert [p.nodes for p in expl.paths] == [("u:0", "i:0", "u:1", "i:1")]
    assert_edges_exist(gcn_ctx, expl.paths[0].edges)
    assert_edges_exist(gcn_ctx, expl.subgraph.edges)
    assert expl.paths[0].score == pytest.approx(sum(e.weight for e in expl.paths[0].edges))


def test_attribution_leaves_model_untouched(gcn_ctx):
    before = gcn_ctx.model.embedding.weight.clone()
    api.explain_top_k(gcn_ctx, 0, 2, "edges")
    assert torch.equal(before, gcn_ctx.model.embedding.weight)
    assert gcn_ctx.model.embedding.weight.grad is None


def test_counterfactual_ordered_by_edge_attribution(gcn_ctx):
    expl = api.explain(gcn_ctx, 0, 1, "counterfactual", k=1)
    assert expl.extra["attribution"] == "edges"
    assert expl.contributions[0].id == "i:0"


def test_kgat_attribution_on_ckg_edge_ids(inputs):
    kgat = pytest.importorskip("core.models.kgat")
    if not hasattr(kgat.KGAT, "score_pairs_with_edge_weight"):
        pytest.skip("KGAT has no edge-weighted scoring")
    torch.manual_seed(0)
    model = kgat.KGAT.build(
        inputs,
        kgat.KGATConfig(dim=4, relation_dim=4, layer_dims=(4, 4), reg=1e-5, kg_triples="ckg", **BI),
        "cpu",
    )
    model.eval()
    model.refresh_attention()
    model.prepare_inference()
    ctx = ExplainContext.build(model, inputs, entity_names=ENTITY_NAMES)
    attr = edges.attribution(ctx, 0, 1)
    u, i = torch.tensor([0]), torch.tensor([1])
    for e in np.nonzero(attr)[0][:6]:  # same edge ids as the CKG: no mapping needed
        w = torch.ones(len(attr))
        w[e] = 1 + 1e-3
        hi = model.score_pairs_with_edge_weight(u, i, w).item()
        w[e] = 1 - 1e-3
        lo = model.score_pairs_with_edge_weight(u, i, w).item()
        assert attr[e] == pytest.approx((hi - lo) / 2e-3, rel=0.05, abs=1e-4)
    expl = api.explain(ctx, 0, 1, "edges")
    assert {p.kind for p in expl.paths} <= {"user-item-entity-item", "user-item-user-item"}
    for p in expl.paths:
        assert_edges_exist(ctx, p.edges)
