"""ExplainContext: history order, CSR gathers, edge lookup and reverse edges."""

from __future__ import annotations

import numpy as np

from core.explain.ckg import CSR
from core.explain.context import ExplainContext
from core.models.base import ModelInputs
from tests.explain.conftest import PlainModel


def test_history_keeps_training_row_order_and_seen_is_separate():
    train = np.array([[0, 4], [1, 2], [0, 1], [0, 4], [0, 3]])
    inputs = ModelInputs(2, 5, 5, 0, train, np.empty((0, 3), np.int64), ())
    ctx = ExplainContext.build(PlainModel(2, 5), inputs, seen=np.array([[0, 4], [0, 0]]))
    assert ctx.history(0).tolist() == [4, 1, 3]
    assert ctx.history(1).tolist() == [2]
    assert ctx.seen(0).tolist() == [0, 4]
    scores = np.arange(5.0)  # item 4 best, but seen; item 3 next
    assert ctx.rank(0, scores, 3) == 1 and ctx.rank(0, scores, 1) == 3
    assert ctx.top_k(0, 2, scores).tolist() == [3, 2]


def test_csr_gathers_and_edge_lookup(kgat_ctx):
    csr = CSR.group(np.array([2, 0, 2, 1]), 3)
    assert csr.of(2).tolist() == [0, 2]
    assert csr.of_many(np.array([2, 1])).tolist() == [0, 2, 3]
    g = kgat_ctx.ckg
    assert np.array_equal(g.src[g.reverse], g.dst) and np.array_equal(g.dst[g.reverse], g.src)
    eids = g.find(g.src, g.dst)
    assert np.array_equal(g.src[eids], g.src) and np.array_equal(g.dst[eids], g.dst)
    assert g.find(np.array([0]), np.array([3]))[0] == -1  # items 0 and 3 are not linked
    user0 = kgat_ctx.user_node(0)
    assert g.relation_names[g.rel[g.find(np.array([user0]), np.array([2]))[0]]] == "interacted"
