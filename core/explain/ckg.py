"""The collaborative KG of one (dataset, split) as numpy CSR arrays, built once per context.

CKG node numbering (from core.graph): entities 0..E-1 (item i is entity i), users E..E+U-1; edge
ids match `core.graph.collaborative_kg`, so they match KGAT's `edge_attention()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.graph import ckg_relation_names, collaborative_kg
from core.models.base import ModelInputs


@dataclass(frozen=True)
class CSR:
    """Adjacency of one edge direction: the edges of node n are eids[ptr[n]:ptr[n+1]].

    ptr: int64 [N + 1]; eids: int64 [M] edge ids sorted by the node they are grouped under.
    """

    ptr: np.ndarray
    eids: np.ndarray

    @classmethod
    def group(cls, keys: np.ndarray, n: int) -> CSR:
        order = np.argsort(keys, kind="stable")
        ptr = np.searchsorted(keys[order], np.arange(n + 1))
        return cls(ptr=ptr.astype(np.int64), eids=order.astype(np.int64))

    def of(self, node: int) -> np.ndarray:
        return self.eids[self.ptr[node] : self.ptr[node + 1]]

    def of_many(self, nodes: np.ndarray) -> np.ndarray:
        """Edge ids of all `nodes`, concatenated (vectorised gather over CSR ranges)."""
        starts, ends = self.ptr[nodes], self.ptr[nodes + 1]
        lengths = ends - starts
        if lengths.sum() == 0:
            return np.empty(0, dtype=np.int64)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return self.eids[offsets + np.arange(lengths.sum())]


@dataclass(frozen=True)
class CKG:
    """The collaborative KG as numpy arrays. src, dst, rel: int64 [M]; rel as in core.graph."""

    src: np.ndarray
    dst: np.ndarray
    rel: np.ndarray
    out: CSR  # edges grouped by source node
    inc: CSR  # edges grouped by destination node
    reverse: np.ndarray  # int64 [M] id of each edge's reverse edge (every edge has one)
    key_order: np.ndarray  # int64 [M] edge ids sorted by key src * N + dst, for `find`
    sorted_keys: np.ndarray  # int64 [M] those keys, sorted
    relation_names: tuple[str, ...]  # 2R + 2 names, indexed by rel
    n_kg_relations: int  # R

    @property
    def interacted(self) -> int:
        return 2 * self.n_kg_relations

    def find(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Edge id of each (src, dst) pair, -1 where no such edge exists. int64 [P]."""
        n = len(self.out.ptr) - 1
        keys = np.asarray(src, dtype=np.int64) * n + np.asarray(dst, dtype=np.int64)
        if len(self.sorted_keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.sorted_keys, keys), 0, len(self.sorted_keys) - 1)
        return np.where(self.sorted_keys[pos] == keys, self.key_order[pos], -1)

    def is_kg(self, eids: np.ndarray) -> np.ndarray:
        """Mask of edges that are KG triples or their inverses (not user-item edges)."""
        return self.rel[eids] < self.interacted


def csr_pairs(
    pairs: np.ndarray, n_users: int, keep_order: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(ptr int64 [U + 1], items int64 [N]) of unique (user, item) pairs per user.

    keep_order: items stay in their first row order (sequence models such as the attention
    model read the most recent rows), else they are sorted.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    _, first = np.unique(pairs, axis=0, return_index=True)
    first = np.sort(first) if keep_order else first
    pairs = pairs[first]
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    ptr = np.searchsorted(pairs[:, 0], np.arange(n_users + 1)).astype(np.int64)
    return ptr, pairs[:, 1].copy()


def build_ckg(inputs: ModelInputs) -> CKG:
    g = collaborative_kg(
        inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
    )
    src, dst = (t.numpy().astype(np.int64) for t in g.edges())
    n = g.num_nodes()
    rel = g.edata["rel"].numpy().astype(np.int64)
    order = np.argsort(src * n + dst, kind="stable").astype(np.int64)
    return CKG(
        src=src,
        dst=dst,
        rel=rel,
        out=CSR.group(src, n),
        inc=CSR.group(dst, n),
        reverse=_reverse_edges(rel, inputs.n_relations),
        key_order=order,
        sorted_keys=(src * n + dst)[order],
        relation_names=tuple(ckg_relation_names(inputs.relation_names)),
        n_kg_relations=inputs.n_relations,
    )


def _reverse_edges(rel: np.ndarray, n_relations: int) -> np.ndarray:
    """collaborative_kg lays edges out as [h->t (T), t->h (T), u->i (N), i->u (N)], so each
    edge's reverse sits one block away."""
    t = int((rel < n_relations).sum())
    n = int((rel == 2 * n_relations).sum())
    e = np.arange(len(rel), dtype=np.int64)
    return np.select(
        [e < t, e < 2 * t, e < 2 * t + n], [e + t, e - t, e + n], default=e - n
    ).astype(np.int64)
