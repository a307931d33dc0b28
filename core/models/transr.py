"""TransE (Bordes et al. 2013) and TransR (Lin et al. 2015) knowledge-graph embeddings.

A triple (h, r, t) is plausible when the translated head lands near the tail:
    TransE: f(h, r, t) = ||e_h + e_r - e_t||^2
    TransR: f(h, r, t) = ||W_r e_h + e_r - W_r e_t||^2   (W_r: entity space -> relation space)
Training is pairwise (as in KGAT, eq. 2): -ln sigmoid(f(h, r, t') - f(h, r, t)) with a random
corrupted tail t', plus L2 on the embeddings involved.

`TranslationalScorer` holds the relation parameters and is reused by KGAT. `TransE` / `TransR`
are also standalone recommenders: users become extra entities and "interacted" an extra relation
(the collaborative-KG view), so recommending is KG completion of (user, interacted, ?).
Recommended learning rate: 1e-2 (CF phase, `default_lr`); the KG phase uses `kg_lr`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.models.base import ModelInputs, Recommender, draw_
from core.models.layers import segment_matmul
from core.models.optim import clear_grads, step_all
from core.models.refit import RefitConfig, RefitResult, fit, history_mask, negatives


class TranslationalScorer(nn.Module):
    """Relation embeddings [R, k] and, for TransR, projections W_r [R, d, k]."""

    def __init__(
        self,
        n_relations: int,
        entity_dim: int,
        relation_dim: int,
        projection: bool,
        identity_init: bool = False,
    ):
        super().__init__()
        if not projection and entity_dim != relation_dim:
            raise ValueError("TransE needs relation_dim == entity_dim")
        self.relation = nn.Embedding(n_relations, relation_dim)
        self.projection: nn.Parameter | None = None
        if projection:
            self.projection = nn.Parameter(torch.empty(n_relations, entity_dim, relation_dim))
        self.identity_init = identity_init
        self.init_weights(None)

    def init_weights(self, generator: torch.Generator | None) -> None:
        """Xavier-uniform relations and projections (None: torch's global generator)."""
        draw_(self.relation.weight, nn.init.xavier_uniform_, generator)
        if self.projection is not None:
            draw_(self.projection, nn.init.xavier_uniform_, generator)
            if self.identity_init:  # start from TransE, as the TransR paper does
                with torch.no_grad():
                    eye = torch.eye(*self.projection.shape[1:], device=self.projection.device)
                    self.projection.copy_(eye + 0.01 * self.projection)

    def project(self, x: Tensor, r: Tensor) -> Tensor:
        """x: float [B, d] entity embeddings, r: int64 [B]. Returns float [B, k]."""
        if self.projection is None:
            return x
        order = torch.argsort(r)
        out = torch.empty(len(r), self.projection.shape[2], dtype=x.dtype, device=x.device)
        out[order] = self.project_sorted(x[order], r[order])
        return out

    def project_sorted(self, x: Tensor, r_sorted: Tensor) -> Tensor:
        """`project` for rows already sorted by relation: one segment matmul, with no
        [B, d, k] gather of W_r (several times slower on CPU). Returns float [B, k]."""
        if self.projection is None:
            return x
        seglen = torch.bincount(r_sorted, minlength=self.projection.shape[0]).cpu()
        return segment_matmul(x, self.projection, seglen)

    def project_all(self, x: Tensor, r: int) -> Tensor:
        """Project many entities into one relation's space. x: [N, d]. Returns [N, k]."""
        return x if self.projection is None else x @ self.projection[r]

    def distance(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        """f(h, r, t) for entity embeddings h, t: float [B, d] and r: int64 [B]. Returns [B]."""
        return (self.project(h, r) + self.relation(r) - self.project(t, r)).pow(2).sum(1)

    def pairwise_loss(self, h: Tensor, r: Tensor, t: Tensor, t_neg: Tensor, reg: float) -> Tensor:
        """KGAT eq. 2 with L2 on the projected embeddings; h, t, t_neg: [B, d]. Returns scalar."""
        order = torch.argsort(r)  # the loss is a mean: compute it in relation order
        r = r[order]
        # the three entities of a triple share W_r: one projection of [B, 3, d] rows
        stacked = torch.stack([h[order], t[order], t_neg[order]], 1)
        projected = self.project_sorted(stacked.view(-1, h.shape[1]), r.repeat_interleave(3))
        ph, pt, pn = projected.view(len(r), 3, -1).unbind(1)
        er = self.relation(r)
        pos = (ph + er - pt).pow(2).sum(1)
        neg = (ph + er - pn).pow(2).sum(1)
        l2 = (ph.pow(2).sum() + er.pow(2).sum() + pt.pow(2).sum() + pn.pow(2).sum()) / 2
        return -F.logsigmoid(neg - pos).mean() + reg * l2 / len(h)


def run_kg_epoch(
    loss_fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor],
    triples: Tensor,
    n_nodes: int,
    batch_size: int,
    optimiser: torch.optim.Optimizer,
    generator: torch.Generator,
) -> float:
    """One pass over `triples` (int64 [T, 3], CPU) in random order, each with a random tail.

    Corrupted tails are drawn uniformly from all `n_nodes` without filtering true triples (a
    collision has probability ~degree / n_nodes). `loss_fn(h, r, t, t_neg)` gets int64 [B] on
    the model's device. Returns the mean loss.
    """

    device = next(iter(optimiser.param_groups[0]["params"])).device
    perm = torch.randperm(len(triples), generator=generator)
    neg = torch.randint(0, n_nodes, (len(triples),), generator=generator)
    total, steps = 0.0, 0
    for start in range(0, len(triples), batch_size):
        idx = perm[start : start + batch_size]
        h, r, t = triples[idx].to(device).unbind(1)
        loss = loss_fn(h, r, t, neg[idx].to(device))
        clear_grads([optimiser])  # zero_grad() and step(), bit for bit, without torch.optim's
        loss.backward()  # per-call overhead (core/models/optim.py)
        step_all([optimiser])
        total, steps = total + float(loss), steps + 1
    optimiser.zero_grad(set_to_none=True)  # leave no KG gradients for the CF optimiser
    return total / max(steps, 1)


@dataclass(frozen=True)
class TransEConfig:
    dim: int = 64  # entity (and relation) embedding size
    reg: float = 1e-5  # L2 weight on the embeddings of each batch
    kg_batch_size: int = 2048  # triples per step of the KG phase
    # Adam learning rate of the KG phase (the model's own optimiser). At 1e-3 the KG phase
    # pulled the shared item embeddings away from the CF objective: TransE on the sample peaked
    # at epoch 4 with Recall@20 0.087 (MostPop's level); at 1e-4 it reached 0.204.
    kg_lr: float = 1e-4


@dataclass(frozen=True)
class TransRConfig(TransEConfig):
    reg: float = 1e-3  # stronger than TransE's: the projections overfit the sample data otherwise
    relation_dim: int = 64  # size of the relation space W_r projects into


class TransE(Recommender):
    """Users, items and KG entities as one embedding table; recommends by KG completion.

    Nodes: entities 0..E-1 (item i is entity i), users E..E+U-1 (as in the collaborative KG).
    Relations: KG relations 0..R-1, then "interacted" = R.
    """

    name = "transe"
    config_cls = TransEConfig
    projection = False
    default_lr: ClassVar[float] = 1e-2  # CF phase; 1e-3 learns far too slowly from the init

    @classmethod
    def build(cls, inputs: ModelInputs, config: TransEConfig, device: torch.device) -> TransE:
        model = cls(inputs, config)
        return model.to(device)

    def __init__(self, inputs: ModelInputs, config: TransEConfig):
        super().__init__(inputs.n_users, inputs.n_items)
        self.config = config
        self.n_entities = inputs.n_entities
        self.relation_names = tuple(inputs.relation_names) + ("interacted",)
        self.interacted = inputs.n_relations
        rel_dim = getattr(config, "relation_dim", config.dim)
        self.node = nn.Embedding(inputs.n_entities + inputs.n_users, config.dim)
        nn.init.xavier_uniform_(self.node.weight)
        self.scorer = TranslationalScorer(
            len(self.relation_names), config.dim, rel_dim, self.projection, identity_init=True
        )
        kg = np.asarray(inputs.kg, dtype=np.int64).reshape(-1, 3)
        self._kg = torch.from_numpy(np.unique(kg, axis=0) if len(kg) else kg)  # CPU, sampled from
        # training pairs (CPU): the re-fit's negatives exclude the user's training items
        self._train = torch.as_tensor(np.asarray(inputs.train, dtype=np.int64)).view(-1, 2)
        # the KG phase has its own Adam state: the trainer's optimiser only sees the CF loss
        self.kg_optimiser = torch.optim.Adam(self.parameters(), lr=config.kg_lr)

    def init_weights(self, generator: torch.Generator) -> None:
        draw_(self.node.weight, nn.init.xavier_uniform_, generator)
        self.scorer.init_weights(generator)

    # --- training ---------------------------------------------------------------------------
    def _user_nodes(self, users: Tensor) -> Tensor:
        return users + self.n_entities

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """Pairwise loss on (user, interacted, pos) against (user, interacted, neg). [B] each."""
        r = torch.full_like(users, self.interacted)
        u, p, n = self.node(self._user_nodes(users)), self.node(pos), self.node(neg)
        return self.scorer.pairwise_loss(u, r, p, n, self.config.reg)

    def on_epoch_end(self, epoch: int, generator: torch.Generator) -> dict[str, float]:
        """One KG phase over the KG triples, with the model's own optimiser."""
        if len(self._kg) == 0:
            return {}

        def kg_loss(h: Tensor, r: Tensor, t: Tensor, t_neg: Tensor) -> Tensor:
            emb = self.node(torch.cat([h, t, t_neg])).view(3, len(h), -1)
            return self.scorer.pairwise_loss(emb[0], r, emb[1], emb[2], self.config.reg)

        loss = run_kg_epoch(
            kg_loss,
            self._kg,
            self.n_entities,
            self.config.kg_batch_size,
            self.kg_optimiser,
            generator,
        )
        return {"kg_loss": loss}

    # --- inference --------------------------------------------------------------------------
    def score_triples(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        """Plausibility -f(h, r, t) of triples over node ids (users are E + u). Returns [B]."""
        return -self.scorer.distance(self.node(h), r, self.node(t))

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """score = -||P u + r - P i||^2, a matrix product once expanded:
        -||a - b||^2 = [2a, -||a||^2, -1] . [b, 1, ||b||^2], with a = P u + r, b = P i."""
        r = self.interacted
        a = (
            self.scorer.project_all(self.node(self._user_nodes(users)), r)
            + self.scorer.relation.weight[r]
        )
        b = self.scorer.project_all(self.node.weight[: self.n_items], r)
        a_sq, b_sq = a.pow(2).sum(1, keepdim=True), b.pow(2).sum(1, keepdim=True)
        user_vectors = torch.cat([2 * a, -a_sq, -torch.ones_like(a_sq)], 1)
        item_vectors = torch.cat([b, torch.ones_like(b_sq), b_sq], 1)
        return user_vectors, item_vectors

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return self.score_triples(
            self._user_nodes(users), torch.full_like(users, self.interacted), items
        )

    def _user_side(self, e: Tensor) -> Tensor:
        """P e + r_interacted for user embeddings e [B, dim]. Returns [B, k]."""
        r = self.interacted
        return self.scorer.project_all(e, r) + self.scorer.relation.weight[r]

    def _item_side(self, items: Tensor) -> Tensor:
        return self.scorer.project_all(self.node.weight[items], self.interacted)

    @torch.no_grad()
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Inference-only: the user's embedding does not read the history, so the scores are
        unchanged (`refit_histories` answers "without these items"). [len(items)]."""
        items = items.to(self.node.weight.device).long().view(-1)
        return self.score_pairs(torch.full_like(items, int(user)), items)

    @torch.no_grad()
    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """Re-fit the user's node embedding on each edited history (entity and relation
        parameters frozen), from the learned one; the score -||P e_u + r - P e_i||^2 needs no
        propagation, so fit and scores are exact. Returns scores [B, C], params [B, dim]."""
        device, u = self.node.weight.device, int(user)
        hists = [h.to(device).long().view(-1) for h in histories]
        full = self._train_items(u).to(device)
        pos = torch.unique(torch.cat([full, *hists]))
        cand = self._item_side(torch.cat([pos, negatives(self.n_items, pos, u, config)]))

        def scores_of(e: Tensor, rows: Tensor) -> Tensor:
            return -(self._user_side(e).unsqueeze(1) - rows.unsqueeze(0)).pow(2).sum(2)

        params = fit(
            self.node.weight[u + self.n_entities].unsqueeze(0).repeat(len(hists), 1),
            lambda e: (scores_of(e, cand), self._user_reg(e)),
            history_mask(pos, hists),
            config,
        )
        scores = scores_of(params, self._item_side(items.to(device).long()))
        return RefitResult(scores=scores, params=params)

    @torch.no_grad()
    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """score_triples with the user's node embedding replaced by user_params [dim]. [C]."""
        node = int(user) + self.n_entities
        e = self.node.weight[node] if user_params is None else user_params.to(self.node.weight)
        h = self.scorer.project_all(e.view(1, -1), self.interacted)
        t = self._item_side(items.to(e.device).long())
        r = self.scorer.relation.weight[self.interacted]
        return -(h + r - t).pow(2).sum(1)

    @torch.no_grad()
    def history_influence(
        self, user: int, item: int, history: Tensor, config: RefitConfig
    ) -> Tensor:
        """First-order drop of score(user, item) when each training item h leaves the user's
        re-fit (`refit_histories`' objective, one Newton step from the learned embedding).

        With a = W e + r the user's translated embedding (W = I for TransE), q_x = W e_x and
        s_x = -||a - q_x||^2, the objective is L(e) = mean_h l_h + reg ||W e||^2 / 2 with
        l_h = mean_n softplus(s_n - s_h) over the re-fit's N negatives n. Dropping h (the
        re-fit's edit: h leaves the positives and joins every other positive's negatives)
        changes the objective's gradient at the learned e by
            D_h = mean_{h' != h} [N g_h' + sigma(s_h - s_h') d(s_h - s_h')] / (N + 1) - g_mean,
        g_h = grad l_h, exactly the anchored re-fit's first gradient for that edit; e moves by
        -H^-1 D_h (one Newton step) and the score drops by grad s_item . H^-1 D_h.
        s_n - s_h is linear in a, so H = sum sigma' dz dz^T / (T N) + the L2 term exactly.
        history: int64 [T] (the user's training items). Returns float [T] (score units)."""
        device, u = self.node.weight.device, int(user)
        hist = history.to(device).long().view(-1)
        t = len(hist)
        if t == 0:
            return torch.zeros(0, device=device)
        full = self._train_items(u).to(device)
        neg = negatives(self.n_items, torch.unique(torch.cat([full, hist])), u, config)
        e = self.node.weight[u + self.n_entities]
        a = self._user_side(e.view(1, -1))[0]  # [k]
        q_h, q_n = self._item_side(hist), self._item_side(neg)  # [T, k], [N, k]
        # z = s_n - s_h, dz/da = 2 (q_n - q_h): [T, N, k]
        dz = 2 * (q_n.unsqueeze(0) - q_h.unsqueeze(1))
        z = (a - q_h).pow(2).sum(1, keepdim=True) - (a - q_n).pow(2).sum(1).unsqueeze(0)
        sig = torch.sigmoid(z)  # [T, N]
        grads = (sig.unsqueeze(2) * dz).mean(1)  # [T, k]: grad of l_h w.r.t. a
        curv = sig * (1 - sig) / (t * len(neg))
        eye = torch.eye(len(a), device=device, dtype=torch.float64)
        # Hessian w.r.t. a (float64: it is solved below), L2 term included
        hess = torch.einsum("tn,tnd,tne->de", curv, dz, dz).double() + self.config.reg * eye
        # h as a negative of each other positive h': sigma(s_h - s_h') d(s_h - s_h') / (N + 1)
        pair = torch.sigmoid((a - q_h).pow(2).sum(1).unsqueeze(0) - (a - q_h).pow(2).sum(1, True))
        pair.fill_diagonal_(0)  # [T, T]: sigma(s_h - s_h'), rows h
        as_neg = 2 * (pair.sum(1, keepdim=True) * q_h - pair @ q_h)  # [T, k]
        n = len(neg)
        kept = (n * (grads.sum(0, keepdim=True) - grads) + as_neg) / ((n + 1) * max(t - 1, 1))
        edit = (kept - grads.mean(0, keepdim=True)).double()  # [T, k]: D_h w.r.t. a
        target = self._item_side(torch.tensor([int(item)], device=device))[0]
        grad_item = (-2 * (a - target)).double()  # [k]: grad of s_item w.r.t. a
        w = self.scorer.projection[self.interacted] if self.scorer.projection is not None else None
        if w is None or w.shape[1] <= w.shape[0]:
            # e -> a = W e + r reaches every a (W of full column rank), so the Newton step in e
            # and in a give the same score change: grad_a^T H_a^-1 D_a
            drop = grad_item @ torch.linalg.solve(hess, edit.T)
        else:  # a relation space larger than dim: the step lives in e's d dimensions
            w = w.double()
            drop = (w @ grad_item) @ torch.linalg.solve(w @ hess @ w.T, w @ edit.T)
        return drop.view(-1).to(a.dtype)

    def _user_reg(self, e: Tensor) -> Tensor:
        """The user's share of the pairwise loss's L2 term (on its projection). [B]."""
        return self.config.reg * self.scorer.project_all(e, self.interacted).pow(2).sum(1) / 2

    def _train_items(self, user: int) -> Tensor:
        return self._train[self._train[:, 0] == user, 1]

    @torch.no_grad()
    def predict_tails(self, head: int, relation: int, k: int = 10) -> tuple[Tensor, Tensor]:
        """KG completion: the k entities t (users excluded) with the highest -f(head, r, t).

        Returns (scores float [k], entity ids int64 [k]), best first.
        """
        h = self.scorer.project_all(self.node.weight[head : head + 1], relation)
        query = h + self.scorer.relation.weight[relation]
        tails = self.scorer.project_all(self.node.weight[: self.n_entities], relation)
        scores = -(query - tails).pow(2).sum(1)
        return torch.topk(scores, min(k, len(scores)))

    @torch.no_grad()
    def nearest_entities(self, entity: int, k: int = 10) -> tuple[Tensor, Tensor]:
        """Entities most cosine-similar to `entity` (itself excluded). Returns ([k], [k])."""
        emb = F.normalize(self.entity_embeddings(), dim=1)
        sims = emb @ emb[entity]
        sims[entity] = float("-inf")
        return torch.topk(sims, min(k, len(sims) - 1))

    def entity_embeddings(self) -> Tensor:
        """Entity embeddings, items first. Returns float [n_entities, dim]."""
        return self.node.weight[: self.n_entities]

    def user_table(self) -> tuple[str, int]:
        return "node.weight", self.n_entities  # entities, then users

    def triple_distance(self, heads: Tensor, relations: Tensor, tails: Tensor) -> Tensor:
        return self.scorer.distance(heads, relations, tails)

    def item_table(self) -> tuple[str, int]:
        return "node.weight", 0


class TransR(TransE):
    """TransE with a projection W_r per relation (entities live in one space, relations in
    their own)."""

    name = "transr"
    config_cls = TransRConfig
    projection = True
