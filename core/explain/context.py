"""`ExplainContext`: everything explainers share for one (dataset, split, model), built once.

It holds display names, each user's training history as CSR arrays, the collaborative KG
(`core.graph.collaborative_kg`, so edge ids match KGAT's `edge_attention()`) as numpy CSR
adjacency in both directions, and per-model state computed once (KGAT edge attention, entity
embeddings). After `build` nothing in it changes, so one context can serve many threads.

CKG node numbering (from core.graph): entities 0..E-1 (item i is entity i), users E..E+U-1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from core.data import Dataset
from core.explain.base import node_id
from core.explain.ckg import CKG, build_ckg, csr_pairs
from core.models.base import ModelInputs, NotSupported, Recommender, model_device, supports
from core.models.refit import RefitConfig, RefitResult
from core.store import TrainedModel
from core.store.opening import open_artifact

Rescoring = Literal["refit", "inference"]


@dataclass(frozen=True)
class ExplainContext:
    """Shared, read-only explanation state for one model on one dataset split."""

    model: Recommender
    n_users: int
    n_items: int
    n_entities: int
    user_names: tuple[str, ...]  # raw user ids
    entity_names: tuple[str, ...]  # display name per entity (items: titles)
    item_raw: tuple[str, ...]  # raw item ids
    history_ptr: np.ndarray  # int64 [U + 1] CSR over users
    history_items: np.ndarray  # int64 [N] sorted unique train items per user
    seen_ptr: np.ndarray  # int64 [U + 1] CSR over users of items excluded from ranking
    seen_items: np.ndarray  # int64 [S] (train, plus validation when built from a split)
    ckg: CKG
    edge_attention: np.ndarray | None  # float [M] KGAT attention per CKG edge, if the model has it
    entity_emb: np.ndarray | None  # float [E, d] unit-normalised entity embeddings, if offered
    device: torch.device
    # how "refit" re-scoring re-fits the user; anchored: `rescore` adds the full history as the
    # last column, so the unedited history re-scores as the model itself (core.models.refit)
    refit: RefitConfig = RefitConfig(anchored=True)
    # what `from_artifact` loaded (None when built from objects in hand)
    dataset: Dataset | None = None
    artifact: TrainedModel | None = None

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        model: Recommender,
        inputs: ModelInputs,
        user_names: tuple[str, ...] | None = None,
        entity_names: tuple[str, ...] | None = None,
        item_raw: tuple[str, ...] | None = None,
        seen: np.ndarray | None = None,
    ) -> ExplainContext:
        """Precompute once: history CSR, CKG CSR, edge attention, entity embeddings.

        seen: int64 [S, 2] (user, item) pairs never recommended (default: the training pairs).
        """
        h_ptr, h_items = csr_pairs(inputs.train, inputs.n_users, keep_order=True)
        s_ptr, s_items = csr_pairs(inputs.train if seen is None else seen, inputs.n_users)
        return cls(
            model=model,
            n_users=inputs.n_users,
            n_items=inputs.n_items,
            n_entities=inputs.n_entities,
            user_names=user_names or tuple(f"user {u}" for u in range(inputs.n_users)),
            entity_names=entity_names or tuple(f"entity {e}" for e in range(inputs.n_entities)),
            item_raw=item_raw or tuple(str(i) for i in range(inputs.n_items)),
            history_ptr=h_ptr,
            history_items=h_items,
            seen_ptr=s_ptr,
            seen_items=s_items,
            ckg=build_ckg(inputs),
            edge_attention=_edge_attention(model),
            entity_emb=_entity_embeddings(model),
            device=model_device(model),
        )

    def with_new_user(
        self, model: Recommender, items: np.ndarray, name: str, ckg: CKG
    ) -> ExplainContext:
        """This context for `model`, a grown copy of its model holding one more user (the last)
        whose history and unseen-excluded items are `items` (int64 [T], training-row order);
        `ckg` is the grown CKG. Only what the model itself offers is recomputed."""
        items = np.asarray(items, dtype=np.int64)
        return dataclasses.replace(
            self,
            model=model,
            n_users=self.n_users + 1,
            user_names=(*self.user_names, name),
            history_ptr=np.append(self.history_ptr, self.history_ptr[-1] + len(items)),
            history_items=np.concatenate([self.history_items, items]),
            seen_ptr=np.append(self.seen_ptr, self.seen_ptr[-1] + len(items)),
            seen_items=np.concatenate([self.seen_items, np.sort(items)]),
            ckg=ckg,
            edge_attention=_edge_attention(model),
            entity_emb=_entity_embeddings(model),
            device=model_device(model),
            artifact=None,
        )

    @classmethod
    def from_dataset(cls, dataset, split, model: Recommender) -> ExplainContext:
        """Context for `model` trained on `split` of `dataset` (a core.data Dataset / Split).
        Training and validation items are excluded from rankings, as `recommend` does."""
        seen = np.concatenate(
            [np.asarray(split.train).reshape(-1, 2), np.asarray(split.valid).reshape(-1, 2)]
        )
        return cls.build(
            model,
            ModelInputs.from_dataset(dataset, split),
            user_names=tuple(dataset.user_ids.raw),
            entity_names=tuple(str(n) for n in dataset.entity_names),
            item_raw=tuple(dataset.item_ids.raw),
            seen=seen,
        )

    @classmethod
    def from_artifact(
        cls,
        folder: str | Path,
        dataset: Dataset | str | Path | None = None,
        device: str | torch.device = "cpu",
        fmt: str | None = None,
    ) -> ExplainContext:
        """Load the artifact in `folder` and build its context: the one way to go from a folder
        to explanations (CLI, dashboard, benchmarks).

        dataset: a loaded Dataset, a dataset folder (or "sample"), or None for the folder
        recorded in the artifact's meta.json; fmt: its format (default: as recorded).
        `ctx.dataset` and `ctx.artifact` (a core.store.TrainedModel) hold what was loaded.
        Raises ArtifactError (nothing recorded, another dataset's artifact, a bad file) or
        core.data.DataError.
        """
        dataset, trained = open_artifact(folder, dataset, device, fmt)
        ctx = cls.from_dataset(dataset, trained.split, trained.model)
        return dataclasses.replace(ctx, dataset=dataset, artifact=trained)

    # --- names ---------------------------------------------------------------------------------
    def node(self, ckg_node: int) -> str:
        """Node id string ("u:3", "i:7", "e:1503") of a CKG node index."""
        n = int(ckg_node)
        if n >= self.n_entities:
            return node_id("u", n - self.n_entities)
        return node_id("i" if n < self.n_items else "e", n)

    def name(self, ckg_node: int) -> str:
        n = int(ckg_node)
        if n >= self.n_entities:
            return self.user_names[n - self.n_entities]
        return self.entity_names[n]

    def kind(self, ckg_node: int) -> str:
        n = int(ckg_node)
        return "user" if n >= self.n_entities else ("item" if n < self.n_items else "entity")

    def names_extra(self, user: int, item: int) -> dict:
        """The display names every explanation carries in `extra` (sentences use only these
        and the explanation's own records)."""
        return {
            "user_name": self.user_names[int(user)],
            "item_name": self.entity_names[int(item)],
            "item_raw": self.item_raw[int(item)],
        }

    def user_node(self, user: int) -> int:
        return self.n_entities + int(user)

    # --- history and scores --------------------------------------------------------------------
    def history(self, user: int) -> np.ndarray:
        """Training items of `user` in training-row order, int64 [T] (unique)."""
        return self.history_items[self.history_ptr[user] : self.history_ptr[user + 1]]

    @torch.no_grad()
    def scores(self, user: int) -> np.ndarray:
        """Model scores of every item for `user`, float64 [n_items]."""
        users = torch.tensor([int(user)], device=self.device)
        return self.model.score(users)[0].double().cpu().numpy().copy()

    @property
    def rescoring(self) -> Rescoring | None:
        """The default answer to "without these items": "refit" for models with free user
        parameters (they are re-fitted on the edited history), "inference" for models that
        re-score an edited history with every learned parameter kept, None for neither."""
        if supports(self.model, "refit_histories"):
            return "refit"
        if supports(self.model, "score_with_history") or supports(
            self.model, "score_with_histories"
        ):
            return "inference"
        return None

    def rescoring_variants(self) -> list[Rescoring]:
        """Every variant the model serves, the default first."""
        out: list[Rescoring] = []
        if supports(self.model, "refit_histories"):
            out.append("refit")
        if supports(self.model, "score_with_history") or supports(
            self.model, "score_with_histories"
        ):
            out.append("inference")
        return out

    @torch.no_grad()
    def rescore(
        self, user: int, histories: list[np.ndarray], variant: Rescoring | None = None
    ) -> tuple[np.ndarray, Tensor | None]:
        """Scores of every item as if `user`'s history were each of `histories`, in one batched
        model call, and (for "refit") the user's re-fitted parameters per history.
        variant: "refit" or "inference" (default `rescoring`).
        Returns (float64 [B, n_items], float [B, ...] or None)."""
        variant = variant or self.rescoring
        items = torch.arange(self.n_items, device=self.device)
        hists = [self._tensor(h) for h in histories]
        params = None
        if variant == "refit":
            got = self._refit(user, hists, items)
            out, params = got.scores, got.params
        elif variant == "inference":
            out = self.model.score_with_histories(int(user), hists, items)
        else:
            raise NotSupported(f"{self.model.name} cannot re-score with an edited history")
        return out.double().cpu().numpy().copy(), params

    def scores_with_histories(
        self, user: int, histories: list[np.ndarray], variant: Rescoring | None = None
    ) -> np.ndarray:
        """`rescore`'s scores only. float64 [B, n_items]."""
        return self.rescore(user, histories, variant)[0]

    def scores_with_history(
        self, user: int, history: np.ndarray, variant: Rescoring | None = None
    ) -> np.ndarray:
        """Scores of every item as if `user`'s history were `history`. float64 [n_items]."""
        return self.scores_with_histories(user, [history], variant)[0]

    @torch.no_grad()
    def reference_scores(
        self,
        user: int,
        history: np.ndarray,
        variant: Rescoring | None = None,
        params: Tensor | None = None,
    ) -> np.ndarray:
        """The same numbers as `scores_with_history`, by the model's slow, separately written
        `reference_scores` path: what the counterfactual validity check uses. For "refit" the
        user's re-fitted parameters `params` [...] (re-fitted here when not given) go into that
        full re-propagation. float64 [n_items]."""
        variant = variant or self.rescoring
        items = torch.arange(self.n_items, device=self.device)
        hist = self._tensor(history)
        if variant == "refit" and params is None:
            params = self._refit(user, [hist], items[:1]).params[0]
        if variant != "refit":
            params = None
        out = self.model.reference_scores(int(user), hist, items, params)
        return out.double().cpu().numpy().copy()

    def _refit(self, user: int, hists: list[Tensor], items: Tensor) -> RefitResult:
        """The model's batched re-fit; when anchored, with the full history as an extra last
        column (its anchor), which is dropped from the result."""
        if not self.refit.anchored:
            return self.model.refit_histories(int(user), hists, items, self.refit)
        full = self._tensor(self.history(user))
        got = self.model.refit_histories(int(user), [*hists, full], items, self.refit)
        return RefitResult(scores=got.scores[:-1], params=got.params[:-1])

    def _tensor(self, items: np.ndarray) -> Tensor:
        return torch.as_tensor(np.asarray(items, dtype=np.int64), device=self.device)

    def seen(self, user: int) -> np.ndarray:
        """Items never recommended to `user` (training, and validation when known). int64 [S]."""
        return self.seen_items[self.seen_ptr[user] : self.seen_ptr[user + 1]]

    def rank(self, user: int, scores: np.ndarray, item: int) -> int:
        """1-based rank of `item` among the items `user` has not seen.

        The candidate set stays the original one even when scores come from an edited history,
        so ranks before and after an edit compare like for like.
        """
        better = scores > scores[item]
        better[self.seen(user)] = False
        return int(better.sum()) + 1

    def top_k(self, user: int, k: int, scores: np.ndarray | None = None) -> np.ndarray:
        """The user's top-k unseen items, best first. int64 [k]."""
        s = self.scores(user) if scores is None else scores.copy()
        s[self.seen(user)] = -np.inf
        k = min(k, len(s))
        top = np.argpartition(-s, k - 1)[:k]
        return top[np.argsort(-s[top], kind="stable")].astype(np.int64)


def _edge_attention(model: Recommender) -> np.ndarray | None:
    """KGAT's attention over CKG edges (float [M]) or None for models without it."""
    if not supports(model, "edge_attention"):
        return None
    try:
        with torch.no_grad():
            att: Tensor = model.edge_attention()
    except NotSupported:
        return None
    return att.detach().double().cpu().numpy().reshape(-1).copy()


def _entity_embeddings(model: Recommender) -> np.ndarray | None:
    try:
        with torch.no_grad():
            emb = model.entity_embeddings().detach().double().cpu().numpy()
    except NotSupported:
        return None
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)
