"""The Recommender contract every model implements, and the inputs models are built from.

A model is a `torch.nn.Module` that takes sizes, a frozen config and (for graph models) DGL graphs,
never the whole `Dataset`. `recommend` is written once here on top of `score`.

Capabilities used by explainers are documented methods; a model that lacks one raises
`NotSupported` (the CLI and UI turn that into "this model cannot explain by X").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from core.models.refit import RefitConfig, RefitResult

if TYPE_CHECKING:
    import dgl


class NotSupported(NotImplementedError):
    """The model does not offer this capability (e.g. attention weights on BPR-MF)."""


@torch.no_grad()
def draw_(param: Tensor, init, generator: torch.Generator | None, **kwargs) -> None:
    """Fill `param` in place with `init(t, generator=generator, **kwargs)` (an `nn.init`
    function), drawn on the CPU so a seed gives the same values on every device."""
    cpu = torch.empty(param.shape, dtype=param.dtype)
    init(cpu, generator=generator, **kwargs)
    param.copy_(cpu)


@dataclass(frozen=True)
class ModelInputs:
    """Everything a model may be built from, in internal ids (see core.data.dataset conventions).

    train: int64 [N, 2] (user, item) training interactions.
    kg: int64 [T, 3] (head, relation, tail) over entity ids; item i is entity i.
    """

    n_users: int
    n_items: int
    n_entities: int
    n_relations: int
    train: np.ndarray
    kg: np.ndarray
    relation_names: tuple[str, ...]

    @classmethod
    def from_dataset(cls, dataset, split) -> ModelInputs:
        kg = dataset.kg[["head", "relation", "tail"]].to_numpy(np.int64)
        return cls(
            n_users=dataset.n_users,
            n_items=dataset.n_items,
            n_entities=dataset.n_entities,
            n_relations=dataset.n_relations,
            train=np.asarray(split.train, dtype=np.int64),
            kg=kg,
            relation_names=tuple(dataset.relation_names),
        )


@dataclass(frozen=True)
class AttentionWeights:
    """Target attention of one user's history for some candidate items.

    history: int64 [T] the user's history items (internal ids) the weights refer to.
    item_weights: float [C, T] softmax weight of each history item, per candidate (rows sum to 1).
    attribute_types: names of KG attribute types (relations), length A.
    attribute_weights: float [C, A] softmax weight of each attribute type, per candidate.
    """

    history: Tensor
    item_weights: Tensor
    attribute_types: tuple[str, ...]
    attribute_weights: Tensor


class Recommender(nn.Module):
    """Base class: subclasses set `name` and implement `loss` and `score`."""

    name: ClassVar[str] = "base"
    config_cls: ClassVar[type]  # the frozen dataclass of this model's hyper-parameters
    default_lr: ClassVar[float] = 1e-3  # Adam rate `fit` uses when TrainConfig.lr is None
    default_batch_size: ClassVar[int] = 2048  # BPR triples per step when TrainConfig's is None

    @classmethod
    def build(cls, inputs: ModelInputs, config, device: torch.device) -> Recommender:
        """Construct the model (and any graphs it needs) from inputs, on `device`."""
        raise NotImplementedError

    def __init__(self, n_users: int, n_items: int) -> None:
        super().__init__()
        self.n_users = n_users
        self.n_items = n_items

    def init_weights(self, generator: torch.Generator) -> None:
        """Draw every parameter afresh from `generator` (a CPU generator). Training calls it
        with a generator seeded from its config, so a run's start depends on its seed alone and
        never on what another thread drew from torch's global generator. Models with
        parameters override it; the default serves models without any."""
        if any(True for _ in self.parameters()):
            raise NotImplementedError(f"{self.name} must draw its parameters in init_weights")

    # --- training ---------------------------------------------------------------------------
    def on_train_begin(self, generator: torch.Generator) -> None:
        """Before the first epoch of `fit`; `generator` is the run's seeded CPU generator.
        Models with random training-time draws of their own (KGAT's message dropout) seed them
        from it. Default: nothing."""

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """BPR-style training loss (including regularisation) on a batch of [B] triples."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, generator: torch.Generator) -> dict[str, float]:
        """Model-specific work after each CF epoch (KGAT: KG phase and attention refresh).

        Returns extra losses to log; the default does nothing.
        """
        return {}

    @property
    def is_trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    # --- inference --------------------------------------------------------------------------
    def score(self, users: Tensor) -> Tensor:
        """Scores of every item for each user. Returns float [B, n_items].

        The default multiplies `score_factors`; models whose scores are not dot products
        override it."""
        factors = self.score_factors(users)
        if factors is None:
            raise NotImplementedError(f"{self.name} defines neither score nor score_factors")
        user_vectors, item_vectors = factors
        return user_vectors @ item_vectors.T

    def score_factors(self, users: Tensor) -> tuple[Tensor, Tensor] | None:
        """(user_vectors [B, d], item_vectors [n_items, d]) such that
        `score(users) == user_vectors @ item_vectors.T`, for models whose scores are dot
        products; None (the default) otherwise. Full-ranking evaluation uses it to compute the
        product into a buffer it reuses across batches (see core.eval.runner)."""
        return None

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """Scores of (user, item) pairs. users, items: int64 [B]. Returns float [B].

        The default gathers from `score`; embedding models override it with a cheap dot product.
        """
        return self.score(users).gather(1, items.view(-1, 1)).view(-1)

    @torch.no_grad()
    def recommend(
        self, users: Tensor, k: int, seen: list[Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Top-k items per user, with `seen[b]` (item ids of user b) masked to -inf.

        Returns (scores float [B, k], items int64 [B, k]), best first.
        """
        scores = self.score(users).clone()
        if seen is not None:
            rows = torch.cat([torch.full_like(s, b) for b, s in enumerate(seen)])
            cols = torch.cat(list(seen)) if seen else torch.empty(0, dtype=torch.long)
            scores[rows.to(scores.device), cols.to(scores.device)] = float("-inf")
        k = min(k, scores.shape[1])
        return torch.topk(scores, k, dim=1)

    def prepare_inference(self) -> None:
        """Precompute what inference reuses (e.g. propagated embeddings); call once after
        training or loading, before the model is shared. Default: nothing to precompute."""

    # --- explanation capabilities (optional) -------------------------------------------------
    # Every capability an explainer may use is declared here and raises NotSupported by default;
    # a model overrides what it can do (core.explain.registry reads these declarations).
    def score_with_history(self, user: int, history: Tensor, items: Tensor) -> Tensor:
        """Scores of `items` for `user` as if their training history were `history`, keeping
        every learned parameter (the "inference-only" re-scoring): what the model's forward
        pass computes on the edited graph / history. Must not modify the model.
        Returns float [len(items)]."""
        raise NotSupported(f"{self.name} cannot re-score with an edited history")

    def score_with_histories(
        self,
        user: int,
        histories: Sequence[Tensor],
        items: Tensor,
        user_params: Tensor | None = None,
    ) -> Tensor:
        """`score_with_history` for B edited histories at once. Returns float [B, len(items)].

        user_params: optional float [B, ...] replacing the user's own parameters in column b
        (from `refit_histories`). The default loops over `score_with_history` (cheap models);
        graph models override it with one batched propagation that equals a full
        re-propagation of each edited graph.
        """
        if user_params is not None:
            raise NotSupported(f"{self.name} has no user parameters to replace")
        return torch.stack([self.score_with_history(user, h, items) for h in histories])

    def refit_histories(
        self, user: int, histories: Sequence[Tensor], items: Tensor, config: RefitConfig
    ) -> RefitResult:
        """For each edited history: re-fit the user's own parameters on it (the model's loss,
        item / entity / layer parameters frozen, see core.models.refit), then re-score `items`
        with them (re-propagating the edited graph). Deterministic; must not modify the model.
        The default: the model has no free user parameters."""
        raise NotSupported(f"{self.name} has no user parameters to re-fit")

    def reference_scores(
        self, user: int, history: Tensor, items: Tensor, user_params: Tensor | None = None
    ) -> Tensor:
        """A straightforward, slow re-scoring of one edited history (optionally with the user's
        parameters replaced by user_params [...]), written independently of the fast batched
        paths: parity tests and the counterfactual validity check compare against it.
        Default: `score_with_history` (models without a separate fast path). Returns [C]."""
        if user_params is not None:
            raise NotSupported(f"{self.name} has no user parameters to replace")
        return self.score_with_history(user, history, items)

    def history_influence(
        self, user: int, item: int, history: Tensor, config: RefitConfig
    ) -> Tensor:
        """Influence-function estimate of how much removing each of the user's training items
        `history` (int64 [T]) would lower the score of `item` after `refit_histories` (one
        Newton step of the user's own re-fit objective; exact to first order). Returns [T]."""
        raise NotSupported(f"{self.name} has no influence estimate")

    def item_popularity(self) -> Tensor:
        """Number of distinct training users per item, float [n_items] (MostPop's score)."""
        raise NotSupported(f"{self.name} does not score by popularity")

    def attention_weights(self, user: int, items: Tensor) -> AttentionWeights:
        """Target-attention weights of the user's history for candidate `items`."""
        raise NotSupported(f"{self.name} has no attention over the user's history")

    def entity_embeddings(self) -> Tensor:
        """Final embedding of every entity (items first), float [n_entities, d]; used to score
        KG paths for models without edge attention."""
        raise NotSupported(f"{self.name} has no entity embeddings")

    def edge_attention(self) -> Tensor:
        """Normalised attention of every edge of `explain_graph()` (KGAT). Returns float [E]."""
        raise NotSupported(f"{self.name} has no edge attention")

    def explain_graph(self) -> dgl.DGLGraph:
        """The graph whose edge ids `score_pairs_with_edge_weight` weighs (LightGCN: the
        user-item graph; KGAT: the collaborative KG)."""
        raise NotSupported(f"{self.name} has no graph to attribute edges on")

    def score_pairs_with_edge_weight(
        self, users: Tensor, items: Tensor, edge_weight: Tensor
    ) -> Tensor:
        """Scores of (user, item) pairs [B] with every message of `explain_graph()` edge e scaled
        by edge_weight[e] (float [E]; ones reproduce `score_pairs`), differentiable in it."""
        raise NotSupported(f"{self.name} has no edge-weighted scoring")

    # --- growing a copy: a folded-in user, a launched item (core.models.grow) -----------------
    def user_table(self) -> tuple[str, int]:
        """(state-dict key, row of user 0) of the table holding each user's own parameters, one
        row per user, users contiguous. Models without per-user parameters raise NotSupported."""
        raise NotSupported(f"{self.name} has no per-user parameters")

    def item_table(self) -> tuple[str, int]:
        """(state-dict key, row of item 0) of the table of the items' (as entities: items come
        first) own parameters; a launched item gets a row after the last item."""
        raise NotSupported(f"{self.name} has no per-item table to grow")

    def triple_distance(self, heads: Tensor, relations: Tensor, tails: Tensor) -> Tensor:
        """The model's own KG distance f(h, r, t) of triples given as layer-0 rows of
        `item_table` (heads, tails: float [B, d], differentiable: a launched item's free row is
        fitted to it) and KG relation ids (int64 [B]). Returns float [B]."""
        raise NotSupported(f"{self.name} has no KG distance")

    def on_graph_grown(self) -> None:
        """After trained parameters are loaded into a copy built over a grown graph (new user,
        new item): recompute what is derived from parameters and graph together (KGAT's edge
        attention). Default: nothing is."""


def supports(model: Recommender, capability: str) -> bool:
    """Whether `model`'s class overrides the declared capability `capability` (a method name
    of Recommender above). Declaration-based, no attribute sniffing; once per model class."""
    return _declares(type(model), capability)


@functools.cache
def _declares(cls: type[Recommender], capability: str) -> bool:
    return getattr(cls, capability) is not getattr(Recommender, capability)


# re-scoring an edited history, the one capability the counterfactual, the deletion curve, the
# what-if and the profile builder all need: any of these declared
RESCORING = ("score_with_history", "score_with_histories", "refit_histories")


def can_rescore(model: Recommender) -> bool:
    """Whether the model can re-score an edited history (it declares one of `RESCORING`)."""
    return any(supports(model, c) for c in RESCORING)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")
