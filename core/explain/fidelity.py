"""Fidelity of explanations, measured against the model itself (and planted ground truth).

- Deletion test: remove the m history items an explanation ranks highest (m = 1, 3, 5) and
  re-score all items with `score_with_history`; compare the item's rank drop with removing m
  random history items. `ratio` = mean explained drop / mean random drop. Deletion AUC: the
  item's normalised position 1 - (rank - 1) / n_candidates after removing the top 0..5 items,
  averaged with the trapezoid rule (lower = the explanation finds what the score rests on).
  Baseline ranks come from re-scoring the full history, so fold-in models compare like for like.
- Counterfactual: validity (re-checked independently: the item really leaves the top-k), mean
  size, found-within-5 rate.
- Planted drivers: share of explanations whose top-3 entities include a planted driver of the
  user, next to the share for 3 entities drawn at random from the explanation's subgraph.
- Path quality: explainability rate (>= 1 path), path-type diversity (normalised entropy of the
  returned paths' shapes), mean path length in edges.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.explain import api
from core.explain.base import Explanation, parse_node_id
from core.explain.context import ExplainContext
from core.explain.counterfactual import rank_without
from core.explain.registry import supported_methods

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


def deletion_test(ctx: ExplainContext, expls: list[Explanation], cfg: FidelityConfig) -> dict:
    rng = np.random.default_rng(cfg.seed)
    steps = range(max(cfg.ms) + 1)
    drops = {m: [] for m in cfg.ms}
    rand = {m: [] for m in cfg.ms}
    curves, base_ranks = [], {}
    for e in expls:
        hist = ctx.history(e.user)
        if len(hist) <= max(cfg.ms):
            continue
        if e.user not in base_ranks:
            base_ranks[e.user] = ctx.scores_with_history(e.user, hist)
        base = ctx.rank(e.user, base_ranks[e.user], e.item)
        n_cand = ctx.n_items - len(ctx.seen(e.user))
        order = history_ranking(e, hist)
        ranks = [base] + [rank_without(ctx, e.user, e.item, order[:m])[0] for m in steps if m]
        curves.append(np.trapz([1 - (r - 1) / n_cand for r in ranks]) / (len(ranks) - 1))
        for m in cfg.ms:
            drops[m].append(ranks[m] - base)
            draws = [rng.choice(hist, m, replace=False) for _ in range(cfg.random_draws)]
            rand[m].append(np.mean([rank_without(ctx, e.user, e.item, d)[0] - base for d in draws]))
    out = {"n": len(curves), "auc": float(np.mean(curves)) if curves else float("nan")}
    for m in cfg.ms:
        d, r = float(np.mean(drops[m] or [np.nan])), float(np.mean(rand[m] or [np.nan]))
        out[f"drop@{m}"], out[f"random_drop@{m}"] = d, r
        out[f"ratio@{m}"] = d / r if r > 0 else float("inf") if d > 0 else float("nan")
    return out


def counterfactual_stats(ctx: ExplainContext, expls: list[Explanation]) -> dict:
    """Validity re-checked by re-scoring; `baseline_in_top_k`: share of items that re-scoring
    with the full history keeps in the top-k (1.0 unless the model re-fits the user)."""
    full = {u: ctx.scores_with_history(u, ctx.history(u)) for u in {e.user for e in expls}}
    base_in = [ctx.rank(e.user, full[e.user], e.item) <= e.extra["k"] for e in expls]
    found = [e for e in expls if e.counterfactual is not None]
    valid = 0
    for e in found:
        removed = np.array([parse_node_id(n)[1] for n in e.counterfactual.removed])
        valid += rank_without(ctx, e.user, e.item, removed)[0] > e.counterfactual.k
    sizes = [len(e.counterfactual.removed) for e in found]
    return {
        "n": len(expls),
        "found_rate": len(found) / max(1, len(expls)),
        "validity": valid / len(found) if found else float("nan"),
        "mean_size": float(np.mean(sizes)) if sizes else float("nan"),
        "found_within_5": sum(s <= 5 for s in sizes) / max(1, len(expls)),
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
) -> dict[str, dict]:
    """All fidelity figures per supported method, on the top-k of `cfg.n_users` sampled users."""
    methods = [m for m in (methods or supported_methods(ctx)) if m in supported_methods(ctx)]
    users = sample_users(ctx, cfg.n_users, cfg.seed)
    can_rescore = "counterfactual" in supported_methods(ctx)
    results: dict[str, dict] = {}
    for method in methods:
        expls = [e for u in users for e in api.explain_top_k(ctx, u, cfg.k, method)]
        res: dict = {"explanations": len(expls)}
        if can_rescore and method != "counterfactual":
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
