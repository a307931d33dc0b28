"""The collaborative KG through DGL's distributed stack: partition_graph + DistGraph, standalone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import distgraph
from core.graph import collaborative_kg
from tests.models.tiny import tiny_inputs


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return distgraph.partition_ckg(tiny_inputs(), tmp_path_factory.mktemp("parts"), 1)


@pytest.fixture(scope="module")
def local():
    inputs = tiny_inputs()
    return collaborative_kg(
        inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
    )


def test_distgraph_holds_the_ckg_with_its_relations(parts, local):
    g = distgraph.open_ckg(parts)
    assert (g.num_nodes(), g.num_edges()) == (local.num_nodes(), local.num_edges())
    new = torch.arange(g.num_edges())
    # edge data follows the renumbering: new edge e is original edge orig_eids[e]
    assert torch.equal(g.edata["rel"][new], local.edata["rel"][parts.orig_eids])
    kind = g.ndata["kind"][torch.arange(g.num_nodes())]
    assert torch.equal(kind, (parts.orig_nids >= tiny_inputs().n_entities).long())
    distgraph.open_ckg(parts)  # a second open in the same process works


def test_full_neighbour_sampling_returns_exactly_the_in_edges(parts, local):
    g = distgraph.open_ckg(parts)
    nodes = np.array([0, 5, 9, 13, 17])  # items, an entity, users
    src, dst, eids = distgraph.sampled_in_edges(g, parts, nodes, -1)
    want = local.in_edges(torch.as_tensor(nodes), form="eid").numpy()
    assert sorted(eids.tolist()) == sorted(want.tolist())
    lsrc, ldst = local.find_edges(torch.as_tensor(eids))
    assert np.array_equal(src, lsrc.numpy()) and np.array_equal(dst, ldst.numpy())


def test_sampling_with_a_fanout_takes_at_most_that_many_real_edges(parts, local):
    g = distgraph.open_ckg(parts)
    nodes = np.arange(local.num_nodes())
    src, dst, eids = distgraph.sampled_in_edges(g, parts, nodes, 2)
    assert np.bincount(dst, minlength=len(nodes)).max() <= 2
    lsrc, ldst = local.find_edges(torch.as_tensor(eids))
    assert np.array_equal(src, lsrc.numpy()) and np.array_equal(dst, ldst.numpy())
    assert len(eids) < local.num_edges()


def test_two_partitions_are_written_but_standalone_mode_refuses_them(tmp_path):
    two = distgraph.partition_ckg(tiny_inputs(), tmp_path, 2)
    assert (tmp_path / "part0").is_dir() and (tmp_path / "part1").is_dir()
    assert sorted(two.orig_nids.tolist()) == list(range(len(two.orig_nids)))
    with pytest.raises(ValueError, match="one partition"):
        distgraph.open_ckg(two)
