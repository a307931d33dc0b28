"""Thin adapters from the pages to core (no streamlit here, so they are unit-testable).

The explanation calls go to `core.explain.api` when it is present; until then they dispatch to the
explainer modules directly. The KG neighbourhood and the what-if re-ranking are small pure
functions over core objects.
"""

from __future__ import annotations

import importlib.util
from collections import deque
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data import Dataset
from core.explain.base import Edge, Explanation, Subgraph, node_id
from core.explain.context import ExplainContext
from core.models.base import NotSupported

_HAS_API = importlib.util.find_spec("core.explain.api") is not None


def supported_methods(ctx: ExplainContext) -> list[str]:
    """Explanation methods this model offers, best first."""
    if _HAS_API:
        from core.explain import api

        return list(api.supported_methods(ctx))
    from core.explain import attention, paths

    found = ["attention"] if attention.supports(ctx.model) else []
    return found + (["paths"] if paths.supports(ctx) else [])


def explain(ctx: ExplainContext, user: int, item: int, method: str, k: int) -> Explanation:
    """One Explanation; raises NotSupported when the model cannot explain by `method`."""
    if _HAS_API:
        from core.explain import api

        return api.explain(ctx, user, item, method, k)
    from core.explain import attention, paths

    modules = {"attention": attention, "paths": paths}
    if method not in modules:
        raise NotSupported(f"{ctx.model.name} cannot explain by {method}")
    scores = ctx.scores(user)
    rank = ctx.rank(user, scores, item)
    return modules[method].explain(ctx, user, item, score=float(scores[item]), rank=rank, k=k)


def attention_matrix(ctx: ExplainContext, user: int, items: Sequence[int]):
    """(weights float [C, T], history int64 [T]) or None when the model has no attention."""
    try:
        if _HAS_API:
            from core.explain import api

            result = api.attention_matrix(ctx, user, np.asarray(items, dtype=np.int64))
        else:
            from core.explain.attention import attention_matrix as _matrix

            result = _matrix(ctx, user, np.asarray(items, dtype=np.int64))
    except NotSupported:
        return None
    history, weights = result if np.ndim(result[0]) == 1 else result[::-1]
    return np.asarray(weights, dtype=float), np.asarray(history, dtype=np.int64)


def what_if(ctx: ExplainContext, user: int, removed: Sequence[int], k: int) -> pd.DataFrame:
    """Top-k after removing `removed` from the user's history: item, score, new and old rank.

    Raises NotSupported for models that cannot re-score with an edited history.
    """
    history = ctx.history(user)
    kept = history[~np.isin(history, np.asarray(removed, dtype=np.int64))]
    before = ctx.scores(user)
    after = ctx.scores_with_history(user, kept)
    items = ctx.top_k(user, k, after)
    return pd.DataFrame(
        {
            "new rank": range(1, len(items) + 1),
            "item": [ctx.item_raw[i] for i in items],
            "title": [ctx.entity_names[i] for i in items],
            "score": np.round(after[items], 4),
            "old rank": [ctx.rank(user, before, int(i)) for i in items],
        }
    )


def resolve_entity(ds: Dataset, query: str) -> int | None:
    """Entity id for a raw entity / item id, or the first entity whose name contains `query`."""
    query = query.strip()
    if not query:
        return None
    hit = ds.entity_ids.get(query)
    if hit is not None:
        return hit
    low = query.lower()
    return next((i for i, n in enumerate(ds.entity_names) if low in str(n).lower()), None)


def _adjacency(ds: Dataset, relations: Sequence[str]) -> dict[int, list[tuple[int, int, int]]]:
    """entity -> [(head, relation, tail)] over triples touching it, keeping only `relations`."""
    kg = ds.kg[["head", "relation", "tail"]].to_numpy(np.int64)
    if relations:
        keep = [ds.relation_names.index(r) for r in relations if r in ds.relation_names]
        kg = kg[np.isin(kg[:, 1], keep)]
    adj: dict[int, list[tuple[int, int, int]]] = {}
    for h, r, t in kg:
        adj.setdefault(int(h), []).append((int(h), int(r), int(t)))
        adj.setdefault(int(t), []).append((int(h), int(r), int(t)))
    return adj


def neighbourhood(
    ds: Dataset, center: int, hops: int, relations: Sequence[str] = (), max_nodes: int = 60
) -> Subgraph:
    """Entities within `hops` of `center` (breadth first, at most `max_nodes`) and their triples."""
    adj = _adjacency(ds, relations)
    seen, queue = {center: 0}, deque([center])
    while queue and len(seen) < max_nodes:
        node = queue.popleft()
        if seen[node] >= hops:
            continue
        for h, _, t in adj.get(node, []):
            other = t if h == node else h
            if other not in seen and len(seen) < max_nodes:
                seen[other] = seen[node] + 1
                queue.append(other)
    nid = {e: node_id("i" if e < ds.n_items else "e", e) for e in seen}
    edges = {(h, r, t) for e in seen for h, r, t in adj.get(e, []) if h in seen and t in seen}
    return Subgraph(
        nodes={nid[e]: str(ds.entity_names[e]) for e in seen},
        node_kinds={
            nid[e]: "target" if e == center else ("item" if e < ds.n_items else "entity")
            for e in seen
        },
        edges=tuple(Edge(nid[h], ds.relation_names[r], nid[t], 1.0) for h, r, t in sorted(edges)),
    )


def relation_stats(ds: Dataset) -> pd.DataFrame:
    """Per relation: triples, distinct heads, distinct tails, average tails per head."""
    kg = ds.kg
    grouped = kg.groupby("relation")
    frame = pd.DataFrame(
        {
            "triples": grouped.size(),
            "heads": grouped["head"].nunique(),
            "tails": grouped["tail"].nunique(),
        }
    )
    frame["tails per head"] = (frame["triples"] / frame["heads"]).round(2)
    frame.index = [ds.relation_names[int(r)] for r in frame.index]
    return frame.rename_axis("relation").reset_index().sort_values("triples", ascending=False)


def heatmap_data(ctx: ExplainContext, user: int, items: Sequence[int], max_cols: int = 20):
    """(weights float [C, T'], history int64 [T'], kind) for the recommended x history heatmap.

    Attention models give their target attention; other models with entity embeddings give the
    cosine similarity of item embeddings. The T' <= max_cols heaviest history columns are kept.
    Returns None when the model offers neither.
    """
    found = attention_matrix(ctx, user, items)
    kind = "attention weight"
    if found is None:
        if ctx.entity_emb is None:
            return None
        history = ctx.history(user)
        emb = np.asarray(ctx.entity_emb)
        found, kind = (emb[np.asarray(items)] @ emb[history].T, history), "embedding cosine"
    weights, history = found
    if weights.shape[1] > max_cols:
        cols = np.sort(np.argsort(-weights.max(axis=0), kind="stable")[:max_cols])
        weights, history = weights[:, cols], history[cols]
    return weights, history, kind


def mean_jaccard(top_lists: Sequence[np.ndarray]) -> float:
    """Average Jaccard overlap of two models' lists; top_lists = (a int [U, k], b int [U, k])."""
    a, b = top_lists
    scores = [
        len(set(x) & set(y)) / max(1, len(set(x) | set(y))) for x, y in zip(a, b, strict=True)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def top_k_matrix(ctx: ExplainContext, users: Sequence[int], k: int) -> np.ndarray:
    """Top-k unseen items for each user in `users`: int64 [len(users), k]."""
    return (
        np.stack([ctx.top_k(int(u), k) for u in users])
        if len(users)
        else np.zeros((0, k), np.int64)
    )


def quartile_frame(per_model: dict[str, list[dict]]) -> pd.DataFrame:
    """Per user-activity quartile metrics from metrics.json's `per_quartile`, one row per model
    and quartile."""
    rows = [{"model": m, **q} for m, quarts in per_model.items() for q in quarts]
    frame = pd.DataFrame(rows)
    first = [c for c in ("model", "quartile", "users", "min_train", "max_train") if c in frame]
    return frame[first + [c for c in frame.columns if c not in first]]


def explanation_fidelity(ctx: ExplainContext, expl: Explanation) -> dict | None:
    """Deletion test of one explanation (rank drop when its top 1 / 3 history items are removed,
    against random removals). None when the model cannot re-score an edited history."""
    from core.explain import fidelity

    if "counterfactual" not in supported_methods(ctx) or expl.method == "counterfactual":
        return None
    cfg = fidelity.FidelityConfig(ms=(1, 3), random_draws=2)
    out = fidelity.deletion_test(ctx, [expl], cfg)
    return out if out.get("n") else None


def fidelity_table(ctx: ExplainContext, n_users: int = 3, k: int = 3) -> pd.DataFrame:
    """Per explanation method: deletion ratio@3 (explained / random rank drop), deletion AUC and
    the share of explanations with at least one path, over `n_users` sampled users' top-k.

    The counterfactual method is left out: its search alone re-scores the model dozens of times.
    """
    from core.explain import fidelity

    methods = [m for m in supported_methods(ctx) if m != "counterfactual"]
    cols = ["method", "explanations", "deletion ratio@3", "deletion AUC", "explainability"]
    if not methods:
        return pd.DataFrame(columns=cols)
    cfg = fidelity.FidelityConfig(n_users=n_users, k=k, ms=(1, 3), random_draws=1)
    rows = []
    for method, res in fidelity.run(ctx, cfg, methods=methods).items():
        dele, paths = res.get("deletion", {}), res.get("paths", {})
        rows.append(
            [
                method,
                res.get("explanations"),
                dele.get("ratio@3"),
                dele.get("auc"),
                paths.get("explainability"),
            ]
        )
    return pd.DataFrame(rows, columns=cols)
