"""Target-attention recommender over the user's history, with KG attributes per history item.

For a user u with history items t (the last `max_history` training rows, in row order) and a
candidate item c:
    beta_c      = softmax_a( (W_b e_c) . k_a )                attention over attribute types a
    h_t(c)      = [ e_t ; sum_a beta_{c,a} attr_{t,a} ]         history item, attribute-enriched
    v_c         = [ e_c ; W_q e_c ]                            candidate in the same space
    s_{c,t}     = h_t(c) . v_c ,  alpha_c = softmax_t(s_c / sqrt(D))   target attention (DIN-like)
    score(u, c) = p_u . e_c + sum_t alpha_{c,t} s_{c,t} + b_c
where attr_{t,a} is the mean embedding of item t's KG neighbours through attribute type a (a KG
relation, or its inverse "~r" when the item is the tail). The candidate is masked out of its own
history, in training (no leakage) and at inference alike.

Attributes live in a small space (`attr_dim`) so that the only large term, the [T x A] grid of
attribute-candidate products, stays cheap; full ranking is chunked over users and candidates so
memory is O(user_chunk * max_history * A * item_chunk), never users x items x history x dim.
Recommended learning rate: 5e-3 (`default_lr`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import AttentionWeights, ModelInputs, Recommender, draw_


@dataclass(frozen=True)
class AttentionConfig:
    dim: int = 64  # user and item embedding size
    attr_dim: int = 16  # attribute (KG entity) embedding size
    max_history: int = 50  # most recent training rows kept per user
    max_attribute_types: int = 8  # attribute types kept, the ones covering most items
    reg: float = 1e-5  # L2 weight on the batch's user and item embeddings
    user_chunk: int = 64  # users per block in full ranking
    item_chunk: int = 512  # candidates per block in full ranking


def user_histories(train: np.ndarray, n_users: int, n: int, pad: int) -> Tensor:
    """Last n items per user in row order of `train` (int64 [N, 2]). Returns int64 [U, n],
    right-padded with `pad`."""
    users = train[:, 0]
    order = np.argsort(users, kind="stable")
    counts = np.bincount(users, minlength=n_users)
    start = np.cumsum(counts) - counts
    u = users[order]
    pos = np.arange(len(order)) - start[u]
    skip = np.maximum(counts[u] - n, 0)
    keep = pos >= skip
    hist = np.full((n_users, n), pad, dtype=np.int64)
    hist[u[keep], (pos - skip)[keep]] = train[order[keep], 1]
    return torch.from_numpy(hist)


def item_attributes(
    kg: np.ndarray, n_items: int, relation_names: tuple[str, ...], max_types: int
) -> tuple[tuple[str, ...], np.ndarray]:
    """(item, type, entity) links of every item, types = relations (item as head) and inverse
    relations "~r" (item as tail), keeping the `max_types` types that cover most items.

    Returns (type names [A], int64 [L, 3] unique links sorted by item then type).
    """
    kg = np.asarray(kg, dtype=np.int64).reshape(-1, 3)
    h, r, t = kg[:, 0], kg[:, 1], kg[:, 2]
    n_rel = len(relation_names)
    fwd = np.stack([h, r, t], 1)[h < n_items]
    inv = np.stack([t, r + n_rel, h], 1)[t < n_items]
    links = np.unique(np.concatenate([fwd, inv]), axis=0)
    covered = np.bincount(np.unique(links[:, :2], axis=0)[:, 1], minlength=2 * n_rel)
    ranked = [a for a in np.argsort(-covered, kind="stable") if covered[a] > 0][:max_types]
    remap = np.full(2 * n_rel, -1)
    remap[ranked] = np.arange(len(ranked))
    links[:, 1] = remap[links[:, 1]]
    links = links[links[:, 1] >= 0]
    links = links[np.lexsort((links[:, 2], links[:, 1], links[:, 0]))]
    names = tuple(list(relation_names) + [f"~{n}" for n in relation_names])
    return tuple(names[a] for a in ranked), links


def masked_softmax(logits: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last dim restricted to mask; rows with nothing allowed are all zero."""
    weights = torch.softmax(logits.masked_fill(~mask, -1e9), dim=-1)
    return weights * mask


class Attention(Recommender):
    """Target attention over history items and their KG attribute types."""

    name = "attention"
    config_cls = AttentionConfig
    default_lr: ClassVar[float] = 5e-3  # sample data: 1e-3 needs several times more epochs

    @classmethod
    def build(cls, inputs: ModelInputs, config: AttentionConfig, device: torch.device) -> Attention:
        return cls(inputs, config).to(device)

    def __init__(self, inputs: ModelInputs, config: AttentionConfig):
        super().__init__(inputs.n_users, inputs.n_items)
        self.config = config
        pad = inputs.n_items  # index of an all-zero item row that fills short histories
        types, links = item_attributes(
            inputs.kg, inputs.n_items, inputs.relation_names, config.max_attribute_types
        )
        self.attribute_types = types
        n_types = max(len(types), 1)  # keep shapes valid on a dataset without a KG
        self.user = nn.Embedding(inputs.n_users, config.dim)
        self.item = nn.Embedding(inputs.n_items + 1, config.dim, padding_idx=pad)
        self.item_bias = nn.Embedding(inputs.n_items + 1, 1, padding_idx=pad)
        self.entity = nn.Embedding(max(inputs.n_entities, 1), config.attr_dim)
        self.type_keys = nn.Parameter(torch.randn(n_types, config.attr_dim) * 0.1)
        self.type_query = nn.Linear(config.dim, config.attr_dim, bias=False)
        self.attr_query = nn.Linear(config.dim, config.attr_dim, bias=False)
        for emb in (self.user, self.item, self.entity):
            nn.init.normal_(emb.weight, std=0.1)
        with torch.no_grad():
            self.item.weight[pad].zero_()
            self.item_bias.weight.zero_()
        hist = user_histories(inputs.train, inputs.n_users, config.max_history, pad)
        self.register_buffer("history", hist, persistent=False)  # [U, T]
        bag = torch.from_numpy(links[:, 0] * n_types + links[:, 1])
        offsets = torch.searchsorted(bag, torch.arange(inputs.n_items * n_types))
        self.register_buffer("_bag_entities", torch.from_numpy(links[:, 2]), persistent=False)
        self.register_buffer("_bag_offsets", offsets, persistent=False)
        presence = torch.zeros(inputs.n_items + 1, n_types, dtype=torch.bool)
        presence[links[:, 0], links[:, 1]] = True
        self.register_buffer("_presence", presence, persistent=False)  # [I + 1, A]

    def init_weights(self, generator: torch.Generator) -> None:
        """The construction's distributions, drawn from `generator`: N(0, 0.1) embeddings and
        type keys, torch's Linear default for the queries, zero biases and padding row."""
        for param in (self.user.weight, self.item.weight, self.entity.weight, self.type_keys):
            draw_(param, nn.init.normal_, generator, std=0.1)
        for lin in (self.type_query, self.attr_query):
            draw_(lin.weight, nn.init.kaiming_uniform_, generator, a=math.sqrt(5))
        with torch.no_grad():
            self.item.weight[self.item.padding_idx].zero_()
            self.item_bias.weight.zero_()

    # --- the model --------------------------------------------------------------------------
    def _histories(self, users: Tensor) -> Tensor:
        """Histories of `users`, int64 [B, T'], cut to the longest one (rows are right-padded)."""
        hist = self.history[users]
        longest = int((hist != self.n_items).sum(1).max()) if len(hist) else 0
        return hist[:, : max(longest, 1)]

    def _item_keys(self) -> Tensor:
        """Per item: [e_i ; mean attribute embedding of each type] (zeros where none), the
        history side of every attention logit. Returns float [I + 1, d + A * attr_dim]."""
        n_types = self._presence.shape[1]
        means = F.embedding_bag(
            self._bag_entities, self.entity.weight, self._bag_offsets, mode="mean"
        ).view(self.n_items, n_types * self.config.attr_dim)
        attrs = torch.cat([means, means.new_zeros(1, means.shape[1])])  # pad row
        return torch.cat([self.item.weight, attrs], 1)

    def _attend(
        self, users: Tensor, hist: Tensor, cand: Tensor, item_keys: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """users: [B]; hist: [B, T] (pad = n_items); cand: [B, C]; item_keys from _item_keys.

        Returns (scores [B, C], alpha [B, C, T], beta [B, C, A]).
        """
        b, c = cand.shape
        e_c = self.item(cand)  # [B, C, d]
        present = self._presence[hist].any(1)  # [B, A] types found in the history
        beta = masked_softmax(self.type_query(e_c) @ self.type_keys.T, present.unsqueeze(1))
        # sum_a beta_{c,a} (attr_{t,a} . q_c) = attr_t . (beta_c (x) q_c): fold beta into the
        # candidate side so one [B, C, d + A k] x [B, d + A k, T] product gives all logits
        typed_query = (beta.unsqueeze(-1) * self.attr_query(e_c).unsqueeze(2)).reshape(b, c, -1)
        keys = F.embedding(hist, item_keys)  # [B, T, d + A k]
        query = torch.cat([e_c, typed_query], 2)  # [B, C, d + A k]
        # keys stay contiguous on the left: transposing them instead costs a [B, T, D] copy
        logits = (keys @ query.transpose(1, 2)).transpose(1, 2)  # [B, C, T]
        valid = (hist != self.n_items).unsqueeze(1) & (hist.unsqueeze(1) != cand.unsqueeze(2))
        scale = math.sqrt(self.config.dim + self.config.attr_dim)
        alpha = masked_softmax(logits / scale, valid)
        own = (self.user(users).unsqueeze(1) * e_c).sum(-1)
        scores = own + (alpha * logits).sum(-1) + self.item_bias(cand).squeeze(-1)
        return scores, alpha, beta

    # --- training ---------------------------------------------------------------------------
    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """BPR over (pos, neg) with the positive masked out of its own history. [B] each."""
        scores, _, _ = self._attend(
            users, self._histories(users), torch.stack([pos, neg], 1), self._item_keys()
        )
        bpr = -F.logsigmoid(scores[:, 0] - scores[:, 1]).mean()
        l2 = (
            self.user(users).pow(2).sum()
            + self.item(pos).pow(2).sum()
            + self.item(neg).pow(2).sum()
        )
        return bpr + self.config.reg * l2 / (2 * len(users))

    # --- inference --------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, users: Tensor) -> Tensor:
        """users: int64 [B]. Returns float [B, n_items], computed in user x item blocks."""
        users = users.to(self.history.device)
        keys = self._item_keys()
        out = torch.empty(len(users), self.n_items, device=keys.device)
        items = torch.arange(self.n_items, device=keys.device)
        for u0 in range(0, len(users), self.config.user_chunk):
            block = users[u0 : u0 + self.config.user_chunk]
            hist = self._histories(block)
            for i0 in range(0, self.n_items, self.config.item_chunk):
                cand = items[i0 : i0 + self.config.item_chunk].expand(len(block), -1)
                out[u0 : u0 + len(block), i0 : i0 + cand.shape[1]] = self._attend(
                    block, hist, cand, keys
                )[0]
        return out

    @torch.no_grad()
    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """users, items: int64 [B]. Returns float [B]."""
        users = users.to(self.history.device)
        cand = items.to(users.device).view(-1, 1)
        return self._attend(users, self._histories(users), cand, self._item_keys())[0][:, 0]

    def _single(self, user: int, history: Tensor | None, items: Tensor):
        device = self.history.device
        hist = self.history[user] if history is None else history.to(device).long()
        hist = hist[hist != self.n_items][-self.config.max_history :]
        padded = hist if len(hist) else torch.tensor([self.n_items], device=device)  # all masked
        users = torch.tensor([int(user)], device=device)
        cand = items.to(device).view(1, -1)
        return hist, self._attend(users, padded.view(1, -1), cand, self._item_keys())

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Scores of `items` with `history` (item ids in training-row order; the last
        max_history count) as the user's history. Returns float [C]."""
        return self._single(user, history, items)[1][0][0]

    def user_table(self) -> tuple[str, int]:
        return "user.weight", 0  # the `own` term's vector; attention reads the history

    @torch.no_grad()
    def attention_weights(self, user: int, items: Tensor) -> AttentionWeights:
        """Weights of the user's history items [C, T] and attribute types [C, A] per candidate."""
        hist, (_, alpha, beta) = self._single(user, None, items)
        return AttentionWeights(
            history=hist.cpu(),
            item_weights=alpha[0].cpu(),
            attribute_types=self.attribute_types,
            attribute_weights=beta[0, :, : len(self.attribute_types)].cpu(),
        )
