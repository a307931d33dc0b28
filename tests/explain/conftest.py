"""Tiny hand-built data and models where the right explanation is known.

Items 0..4, entities 5 ("Ann Lee", a director) and 6 (a genre whose name is HTML-hostile).
KG: items 0 and 1 directed_by Ann; items 2 and 3 have the genre. Training: user 0 has items
0 and 2, user 1 has items 0 and 1, user 2 has item 4.

Known answers for user 0 (candidates 1, 3, 4):
- item 3: the only path is u0 -interacted-> i2 -genre-> e6 -~genre-> i3.
- item 1: u0 -> i0 -> Ann -> i1 and the collaborative u0 -> i0 -> u1 -> i1.
- ToyModel scores with the mean of history item embeddings, so item 1 (score 0.6) is the top-1,
  item 0 is the one decisive history item, and removing it alone drops item 1 to rank 3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor

from core.explain.context import ExplainContext
from core.graph import collaborative_kg
from core.models.base import AttentionWeights, ModelInputs, Recommender

HOSTILE = "<script>alert('x')</script> & Co"
TITLES = ("Night Harbor", "Blue Fields", "Iron Sky", "Quiet River", "Lone Star")
ENTITY_NAMES = TITLES + ("Ann Lee", HOSTILE)


def toy_inputs() -> ModelInputs:
    train = np.array([[0, 0], [0, 2], [1, 0], [1, 1], [2, 4]], dtype=np.int64)
    kg = np.array([[0, 0, 5], [1, 0, 5], [2, 1, 6], [3, 1, 6]], dtype=np.int64)
    return ModelInputs(
        n_users=3, n_items=5, n_entities=7, n_relations=2, train=train, kg=kg,
        relation_names=("directed_by", "genre"),
    )  # fmt: skip


ITEM_EMB = torch.tensor([[1.0, 0.0], [1.2, 0.0], [0.0, 1.0], [0.0, 1.1], [0.2, 0.2]])


class ToyModel(Recommender):
    """Scores with the mean embedding of the user's history; attention = softmax of item-item
    dot products; entity embeddings fixed. Every capability is exact and hand-checkable."""

    name = "toy"
    config = None

    def __init__(self, inputs: ModelInputs) -> None:
        super().__init__(inputs.n_users, inputs.n_items)
        self.register_buffer("item_emb", ITEM_EMB.clone())
        hist = [sorted(inputs.train[inputs.train[:, 0] == u, 1]) for u in range(inputs.n_users)]
        self.histories = [torch.tensor(h, dtype=torch.long) for h in hist]
        ent = torch.cat([ITEM_EMB, torch.tensor([[1.0, 0.0], [0.0, 1.0]])])
        self.register_buffer("ent_emb", ent)

    @classmethod
    def build(cls, inputs: ModelInputs, config, device) -> ToyModel:
        return cls(inputs)  # a copy over grown inputs (a folded-in user, core.models.grow)

    def _user_vec(self, history: Tensor) -> Tensor:
        if len(history) == 0:
            return torch.zeros(2)
        return self.item_emb[history].mean(0)

    def score(self, users: Tensor) -> Tensor:
        vecs = torch.stack([self._user_vec(self.histories[int(u)]) for u in users])
        return vecs @ self.item_emb.T

    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        return self.item_emb[items] @ self._user_vec(history.long())

    def attention_weights(self, user: int, items: Tensor) -> AttentionWeights:
        hist = self.histories[user]
        logits = self.item_emb[items] @ self.item_emb[hist].T * 5
        attr = torch.tensor([[0.7, 0.3]]).repeat(len(items), 1)
        return AttentionWeights(hist, logits.softmax(1), ("directed_by", "genre"), attr)

    def entity_embeddings(self) -> Tensor:
        return self.ent_emb


class ToyKGAT(ToyModel):
    """ToyModel plus KGAT-style edge attention pi(h, r, t) over CKG edges h -> t, normalised
    over h's out-edges as mean aggregation: 1 / out-degree(h), except that Ann's edges get
    attention 1 (a strongly attended director)."""

    name = "toykgat"

    def __init__(self, inputs: ModelInputs) -> None:
        super().__init__(inputs)
        g = collaborative_kg(
            inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
        )
        src, dst = g.edges()
        att = 1.0 / g.out_degrees()[src].float()
        att[(src == 5) | (dst == 5)] = 1.0
        self.register_buffer("att", att)

    def edge_attention(self) -> Tensor:
        return self.att


class RandomKGAT(ToyModel):
    """Random attention and item embeddings over any ModelInputs (seeded)."""

    name = "randomkgat"

    def __init__(self, inputs: ModelInputs) -> None:
        Recommender.__init__(self, inputs.n_users, inputs.n_items)
        g = collaborative_kg(
            inputs.n_users, inputs.n_entities, inputs.n_relations, inputs.train, inputs.kg
        )
        gen = torch.Generator().manual_seed(1)
        self.register_buffer("att", torch.rand(g.num_edges(), generator=gen))
        self.register_buffer("item_emb", torch.randn(inputs.n_items, 2, generator=gen))
        self.register_buffer("ent_emb", torch.randn(inputs.n_entities, 2, generator=gen))
        train = inputs.train
        self.histories = [
            torch.tensor(sorted(set(train[train[:, 0] == u, 1].tolist())), dtype=torch.long)
            for u in range(inputs.n_users)
        ]

    def edge_attention(self) -> Tensor:
        return self.att


class PlainModel(Recommender):
    """Only score: no explanation capability beyond what the base offers."""

    name = "plain"

    def score(self, users: Tensor) -> Tensor:
        return torch.arange(self.n_items, dtype=torch.float).repeat(len(users), 1)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread avoids oversubscribing a shared 2-core machine
    (10-20x slower here with the default); restored after each module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def inputs() -> ModelInputs:
    return toy_inputs()


@pytest.fixture
def toy_ctx(inputs) -> ExplainContext:
    return ExplainContext.build(ToyModel(inputs), inputs, entity_names=ENTITY_NAMES)


@pytest.fixture
def kgat_ctx(inputs) -> ExplainContext:
    return ExplainContext.build(ToyKGAT(inputs), inputs, entity_names=ENTITY_NAMES)


def assert_edges_exist(ctx: ExplainContext, edges) -> None:
    """Every Edge record is a real CKG edge with that relation."""
    from core.explain.base import parse_node_id

    def ckg_node(nid: str) -> int:
        kind, idx = parse_node_id(nid)
        return idx + ctx.n_entities if kind == "u" else idx

    for e in edges:
        eid = ctx.ckg.find(np.array([ckg_node(e.src)]), np.array([ckg_node(e.dst)]))[0]
        assert eid >= 0, e
        rels = {
            ctx.ckg.relation_names[ctx.ckg.rel[j]]
            for j in range(len(ctx.ckg.src))
            if ctx.ckg.src[j] == ckg_node(e.src) and ctx.ckg.dst[j] == ckg_node(e.dst)
        }
        assert e.relation in rels, (e, rels)
