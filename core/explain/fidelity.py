"""Fidelity of explanations, measured against the model itself (and planted ground truth).

- Deletion test: remove the m history items an explanation ranks highest (m = 1, 3, 5) and
  re-score all items (the context's default variant: "refit" for models with free user
  parameters, else "inference"; one batched model call per explanation); compare the item's
  rank drop with removing m random history items. `ratio` = mean explained drop / mean random
  drop. Deletion AUC: the item's normalised position 1 - (rank - 1) / n_candidates after
  removing the top 0..5 items, averaged with the trapezoid rule (lower = the explanation finds
  what the score rests on). Baseline ranks come from re-scoring the full history, so re-fitted
  models compare like for like.
- Counterfactual: validity (re-checked independently through the model's `reference_scores`,
  not the search's batched path: the item really leaves the top-k), mean size, found-within-5
  rate (and valid-within-5: found, valid and at most 5 items).
- Planted drivers: share of explanations whose top-3 entities include a planted driver of the
  user, next to the share for 3 entities drawn at random from the explanation's subgraph.
- Path quality: explainability rate (>= 1 path), path-type diversity (normalised entropy of the
  returned paths' shapes), mean path length in edges.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.explain import api
from core.explain.base import Explanation, parse_node_id
from core.explain.context import ExplainContext
from core.explain.counterfactual import ranks_without, verify
from core.explain.registry import supported_methods
from core.models.base import can_rescore

PATH_KINDS = ("user-item-item", "user-item-entity-item", "user-item-user-item")


@dataclass(frozen=True)
class FidelityConfig:
    n_users: int = 20  # users sampled (each contributes its top-k)
    k: int = 10  # recommendation list size
    ms: tuple[int, ...] = (1, 3, 5)  # deletion sizes
    seed: int = 0  # user sample and random baselines
    random_draws: int = 2  # random deletions averaged per (explanation, m)


def history_ranking(expl: Explanation, history: np.ndarray) -> np.ndarray:
    """History items by the explanation's weight, highest first; unmentioned items last."""
    w = {parse_node_id(c.id)[1]: c.weight for c in expl.contributions if c.kind == "history_item"}
    return np.array(sorted(history.tolist(), key=lambda h: -w.get(h, float("-inf"))))


@dataclass(frozen=True)
class DeletionCurve:
    """One explanation's deletion curve, the one type the benchmark, the card and the dashboard
    share: the item's rank after removing the explanation's top m history items (`ranks`, int
    [M + 1], index m = 0..M) and, per m, the mean rank after removing m random ones
    (`random_ranks`, float [M + 1], mean of `draws` sets); both start at the full-history rank
    (re-scored the same way, so a re-fitted model compares like for like).

    variant: which re-scoring produced the ranks ("refit" or "inference"); n_candidates: the
    items the rank is taken among (needed by `auc` only).
    """

    ranks: tuple[int, ...]
    random_ranks: tuple[float, ...]
    draws: int
    variant: str = ""
    n_candidates: int | None = None

    def drop(self, m: int) -> float:
        return self.ranks[m] - self.ranks[0]

    def random_drop(self, m: int) -> float:
        return self.random_ranks[m] - self.ranks[0]

    def ratio(self, m: int = 3) -> float:
        """Explained rank drop over random rank drop at m removals (> 1: the explanation found
        what the score rests on better than chance; inf when random is 0 and explained is not,
        nan when neither moves)."""
        d, r = self.drop(m), self.random_drop(m)
        return d / r if r > 0 else float("inf") if d > 0 else float("nan")

    def auc(self) -> float:
        """Mean normalised position 1 - (rank - 1) / n_candidates over m (trapezoid rule)."""
        if self.n_candidates is None:
            raise ValueError("DeletionCurve.auc needs n_candidates (deletion_curve sets it)")
        pos = [1 - (r - 1) / self.n_candidates for r in self.ranks]
        return float(np.trapz(pos) / (len(pos) - 1))


def deletion_curve(
    ctx: ExplainContext,
    expl: Explanation,
    max_m: int = 5,
    random_draws: int = 2,
    rng: np.random.Generator | None = None,
    random_ms: tuple[int, ...] | None = None,
) -> DeletionCurve | None:
    """The deletion curve of one explanation, every point from ONE batched re-scoring call
    (m = 0..max_m, plus `random_draws` random sets per m in `random_ms`, default all m >= 1),
    with the context's default re-scoring (the user re-fit where the model has one). The
    random sets are drawn m by m, draw by draw, from `rng` (default seed 0).
    None when the user's history has at most max_m items."""
    hist = ctx.history(expl.user)
    if len(hist) <= max_m:
        return None
    rng = rng or np.random.default_rng(0)
    order = history_ranking(expl, hist)
    random_ms = tuple(range(1, max_m + 1)) if random_ms is None else random_ms
    draws = [
        (m, rng.choice(hist, m, replace=False)) for m in random_ms for _ in range(random_draws)
    ]
    removals = [order[:m] for m in range(max_m + 1)] + [d for _, d in draws]
    ranks, _ = ranks_without(ctx, expl.user, expl.item, removals)
    explained = [int(r) for r in ranks[: max_m + 1]]
    rand = [float(r) for r in explained]  # m without random draws keep the explained rank
    for m in random_ms:
        rand[m] = float(
            np.mean([ranks[max_m + 1 + j] for j, (dm, _) in enumerate(draws) if dm == m])
        )
    return DeletionCurve(
        ranks=tuple(explained),
        random_ranks=tuple(rand),
        draws=random_draws,
        variant=str(ctx.rescoring or ""),
        n_candidates=int(ctx.n_items - len(ctx.seen(expl.user))),
    )


def deletion_test(ctx: ExplainContext, expls: list[Explanation], cfg: FidelityConfig) -> dict:
    """Deletion figures averaged over explanations (one batched call per explanation)."""
    rng = np.random.default_rng(cfg.seed)
    curves = [
        c
        for e in expls
        if (c := deletion_curve(ctx, e, max(cfg.ms), cfg.random_draws, rng, cfg.ms)) is not None
    ]
    out = {"n": len(curves), "auc": float(np.mean([c.auc() for c in curves])) if curves else np.nan}
    out["variant"] = str(ctx.rescoring)
    for m in cfg.ms:
        d = float(np.mean([c.drop(m) for c in curves])) if curves else float("nan")
        r = float(np.mean([c.random_drop(m) for c in curves])) if curves else float("nan")
        out[f"drop@{m}"], out[f"random_drop@{m}"] = d, r
        out[f"ratio@{m}"] = d / r if r > 0 else float("inf") if d > 0 else float("nan")
    return out


def counterfactual_stats(ctx: ExplainContext, expls: list[Explanation]) -> dict:
    """Validity re-checked independently (`counterfactual.verify`: the model's reference
    re-scoring, not the search's batched path); `baseline_in_top_k`: share of items that
    re-scoring with the full history (same variant) keeps in the top-k."""

    users = sorted({e.user for e in expls})
    full = {u: ctx.scores_with_history(u, ctx.history(u)) for u in users}
    base_in = [ctx.rank(e.user, full[e.user], e.item) <= e.extra["k"] for e in expls]
    found = [e for e in expls if e.counterfactual is not None]
    valid = 0
    for e in found:
        removed = np.array([parse_node_id(n)[1] for n in e.counterfactual.removed])
        valid += verify(ctx, e.user, e.item, removed, e.counterfactual.k)[0]
    sizes = [len(e.counterfactual.removed) for e in found]
    return {
        "n": len(expls),
        "variant": str(ctx.rescoring),
        "found_rate": len(found) / max(1, len(expls)),
        "validity": valid / len(found) if found else float("nan"),
        "mean_size": float(np.mean(sizes)) if sizes else float("nan"),
        "found_within_5": sum(s <= 5 for s in sizes) / max(1, len(expls)),
        "valid_within_5": sum(
            len(e.counterfactual.removed) <= 5 and e.counterfactual.valid for e in found
        )
        / max(1, len(expls)),
        "baseline_in_top_k": float(np.mean(base_in)) if base_in else float("nan"),
    }


def _driver_on_a_path(ctx: ExplainContext, user: int, item: int, drivers: set[str]) -> bool:
    """Whether some planted driver is a KG neighbour of both the item and a history item, i.e.
    whether any user-item-entity-item path could name it."""
    g = ctx.ckg
    te = g.inc.of(item)
    near_item = {ctx.node(n) for n in g.src[te[g.is_kg(te)]]}
    he = g.out.of_many(ctx.history(user))
    near_hist = {ctx.node(n) for n in g.dst[he[g.is_kg(he)]]}
    return bool(drivers & near_item & near_hist)


def planted_ceiling(
    ctx: ExplainContext, drivers: dict[int, set[str]], users: list[int], k: int = 10
) -> float:
    """Share of the users' top-k items that a KG path through one of the user's planted
    drivers reaches at all: what bounds any path explanation's planted recovery. A property
    of the model's ranking (and the training histories), not of an explainer."""
    hits = [
        _driver_on_a_path(ctx, u, int(i), drivers[u])
        for u in users
        if u in drivers
        for i in ctx.top_k(u, k)
    ]
    return float(np.mean(hits)) if hits else float("nan")


def planted_recovery(
    expls: list[Explanation],
    drivers: dict[int, set[str]],
    seed: int = 0,
    n: int = 3,
    ctx: ExplainContext | None = None,
) -> dict:
    """Share of explanations whose top-n entities include a planted driver of the user, the
    same for n random entities of the explanation's subgraph, and (given ctx) the ceiling: the
    share of recommended items that a KG path through a driver reaches at all."""
    rng = np.random.default_rng(seed)
    hits, rand_hits, total, reachable = 0, 0.0, 0, 0
    for e in expls:
        if e.user not in drivers:
            continue
        total += 1
        if ctx is not None:
            reachable += _driver_on_a_path(ctx, e.user, e.item, drivers[e.user])
        hits += bool(set(e.top_entities(n)) & drivers[e.user])
        pool = [
            nid
            for nid, kind in (e.subgraph.node_kinds.items() if e.subgraph else [])
            if kind == "entity"
        ]
        if pool:
            pick = rng.choice(pool, min(n, len(pool)), replace=False)
            rand_hits += bool(set(pick.tolist()) & drivers[e.user])
    return {
        "n": total,
        "recovery": hits / total if total else float("nan"),
        "random": rand_hits / total if total else float("nan"),
        "ceiling": reachable / total if total and ctx is not None else float("nan"),
    }


def path_quality(expls: list[Explanation]) -> dict:
    paths = [p for e in expls for p in e.paths]
    counts = np.array([sum(p.kind == k for p in paths) for k in PATH_KINDS], dtype=float)
    share = counts / counts.sum() if counts.sum() else counts
    nz = share[share > 0]
    return {
        "explainability": sum(bool(e.paths) for e in expls) / max(1, len(expls)),
        "diversity": max(0.0, float(-(nz * np.log(nz)).sum() / np.log(len(PATH_KINDS)))),
        "mean_length": float(np.mean([len(p.edges) for p in paths])) if paths else float("nan"),
        "kinds": {k: float(s) for k, s in zip(PATH_KINDS, share, strict=True)},
    }


def load_ground_truth(path: str | Path, dataset) -> dict[int, set[str]]:
    """ground_truth.csv (user,driver,relation; raw ids) -> internal user -> driver node ids."""
    out: dict[int, set[str]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            u, ent = dataset.user_ids.get(row["user"]), dataset.entity_ids.get(row["driver"])
            if u is None or ent is None:
                continue
            kind = "i" if ent < dataset.n_items else "e"
            out.setdefault(u, set()).add(f"{kind}:{ent}")
    return out


def sample_users(ctx: ExplainContext, n: int, seed: int) -> list[int]:
    """n users with a training history, drawn without replacement with `seed`."""
    active = np.nonzero(np.diff(ctx.history_ptr) > 0)[0]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(active, min(n, len(active)), replace=False).tolist())


def run(
    ctx: ExplainContext,
    cfg: FidelityConfig = FidelityConfig(),
    drivers: dict[int, set[str]] | None = None,
    methods: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, dict]:
    """All fidelity figures per supported method, on the top-k of `cfg.n_users` sampled users.

    progress(method, users_done) is called after each user of each method (the CLI's bar)."""
    methods = [m for m in (methods or supported_methods(ctx)) if m in supported_methods(ctx)]
    users = sample_users(ctx, cfg.n_users, cfg.seed)
    rescores = can_rescore(ctx.model)
    results: dict[str, dict] = {}
    for method in methods:
        expls = []
        for done, u in enumerate(users, 1):
            expls += api.explain_top_k(ctx, u, cfg.k, method)
            if progress is not None:
                progress(method, done)
        res: dict = {"explanations": len(expls)}
        if rescores and method != "counterfactual":
            res["deletion"] = deletion_test(ctx, expls, cfg)
        if method == "counterfactual":
            res["counterfactual"] = counterfactual_stats(ctx, expls)
        if method in ("paths", "edges", "attention"):
            res["paths"] = path_quality(expls)
            if drivers:
                res["planted"] = planted_recovery(expls, drivers, cfg.seed, ctx=ctx)
        results[method] = res
    return results


def _f(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    return f"{x + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0


def table(results: dict[str, dict], ms: tuple[int, ...] = (1, 3, 5)) -> str:
    """Markdown table of `run`'s results, one row per method."""
    head = (
        ["method", "n"]
        + [f"rank drop@{m} (rand)" for m in ms]
        + ["ratio@3", "del. AUC", "planted (rand) [ceiling]", "expl. rate", "diversity", "len"]
        + ["CF valid", "CF size", "CF <=5"]
    )
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, r in results.items():
        d, p, q, c = (r.get(x, {}) for x in ("deletion", "planted", "paths", "counterfactual"))
        cells = [method, str(r.get("explanations", 0))]
        cells += [f"{_f(d.get(f'drop@{m}'), 1)} ({_f(d.get(f'random_drop@{m}'), 1)})" for m in ms]
        cells += [_f(d.get("ratio@3")), _f(d.get("auc"), 3)]
        planted = f"{_f(p.get('recovery'))} ({_f(p.get('random'))}) [{_f(p.get('ceiling'))}]"
        cells += [planted if p else "—"]
        cells += [_f(q.get("explainability")), _f(q.get("diversity")), _f(q.get("mean_length"))]
        cells += [_f(c.get("validity")), _f(c.get("mean_size")), _f(c.get("found_within_5"))]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
