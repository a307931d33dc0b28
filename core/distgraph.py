"""The collaborative KG through DGL's distributed stack, for graphs beyond one machine's memory.

`partition_ckg` cuts the CKG (`core.graph.collaborative_kg`: entities then users, `edata["rel"]`)
into partitions on disk with `dgl.distributed.partition_graph`; `open_ckg` opens them as a
`dgl.distributed.DistGraph`, whose node and edge data live in a distributed key-value store and
whose neighbour sampling runs on the machine that owns each node. On one machine DGL runs this
in standalone mode (one partition, no servers), which is how the tests exercise it; on a cluster
the same partitions are copied to the machines and the processes are started by DGL's
`launch.py` (README "Scaling out").

Partitioning renumbers nodes and edges so that each partition's are contiguous; the returned
`orig_nids` / `orig_eids` (new id -> original id) map results back to RecLens's numbering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dgl
import numpy as np
import torch
from dgl.distributed import dist_context
from torch import Tensor

from core.graph import collaborative_kg
from core.models.base import ModelInputs


@dataclass(frozen=True)
class Partitioned:
    """A partitioned CKG on disk. orig_nids / orig_eids: int64 [N] / [M], new id -> original."""

    config: Path  # the partition config JSON that DistGraph opens
    graph_name: str
    num_parts: int
    orig_nids: Tensor
    orig_eids: Tensor


def partition_ckg(
    inputs: ModelInputs,
    out_dir: str | Path,
    num_parts: int = 1,
    graph_name: str = "ckg",
    method: str = "random",
) -> Partitioned:
    """Build the CKG of `inputs` and write `num_parts` partitions under `out_dir`.

    method: "random" (no extra dependency), or "metis" to minimise the edges cut (DGL's METIS
    build). Node data "kind" (0 entity, 1 user) and edge data "rel" travel with the partitions.
    """
    g = collaborative_kg(
        inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
    )
    g.ndata["kind"] = (torch.arange(g.num_nodes()) >= inputs.n_entities).long()
    out = Path(out_dir)
    nids, eids = dgl.distributed.partition_graph(
        g, graph_name, num_parts, str(out), part_method=method, return_mapping=True
    )
    return Partitioned(out / f"{graph_name}.json", graph_name, num_parts, nids, eids)


def open_ckg(part: Partitioned) -> dgl.distributed.DistGraph:
    """The partitioned CKG as a DistGraph. Without a cluster (DGL_DIST_MODE unset) it opens in
    standalone mode, which needs a single partition."""
    if os.environ.get("DGL_DIST_MODE", "standalone") == "standalone" and part.num_parts != 1:
        raise ValueError(
            f"{part.config}: standalone mode opens one partition, this graph has"
            f" {part.num_parts}; launch a cluster with DGL's launch.py for more"
        )
    if not dist_context.is_initialized():  # once per process (servers / clients in a cluster)
        dgl.distributed.initialize(None)
    return dgl.distributed.DistGraph(part.graph_name, part_config=str(part.config))


def sampled_in_edges(
    dist_graph: dgl.distributed.DistGraph, part: Partitioned, nodes: np.ndarray, fanout: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to `fanout` in-edges (-1: all) of original-numbered `nodes`, sampled where the nodes
    live. Returns (src, dst, edge ids) int64 [M] each, in the original numbering."""
    new_of = torch.empty_like(part.orig_nids)
    new_of[part.orig_nids] = torch.arange(len(part.orig_nids))
    seeds = new_of[torch.as_tensor(np.asarray(nodes, dtype=np.int64))]
    frontier = dgl.distributed.sample_neighbors(dist_graph, seeds, fanout)
    src, dst = frontier.edges()
    eids = frontier.edata[dgl.EID]
    back = part.orig_nids
    return back[src].numpy(), back[dst].numpy(), part.orig_eids[eids].numpy()
