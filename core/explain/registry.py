"""The plain-dict registry of explainers: method name -> explain function. The UI offers only
`supported_methods(model)`.

Every explain function has the signature
    fn(ctx, user, item, *, score, rank, k=10, **options) -> Explanation
"""

from __future__ import annotations

from collections.abc import Callable

from core.explain import attention, counterfactual, edges, influence, paths, popularity
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.models.base import Recommender
from core.models.base import supports as declares

Explainer = Callable[..., Explanation]

EXPLAINERS: dict[str, Explainer] = {
    "attention": attention.explain,
    "paths": paths.explain,
    "edges": edges.explain,
    "counterfactual": counterfactual.explain,
    "influence": influence.explain,
    "popularity": popularity.explain,
}


def _has_paths(model: Recommender | ExplainContext) -> bool:
    if isinstance(model, ExplainContext):
        return paths.supports(model)
    return declares(model, "edge_attention") or declares(model, "entity_embeddings")


def supported_methods(model: Recommender | ExplainContext) -> list[str]:
    """Methods in EXPLAINERS that `model` (or a context's model) can serve, in registry order."""
    m = model.model if isinstance(model, ExplainContext) else model
    ok = {
        "attention": attention.supports(m),
        "paths": _has_paths(model),
        "edges": edges.supports(m),
        "counterfactual": counterfactual.supports(m),
        "influence": influence.supports(m),
        "popularity": popularity.supports(m),
    }
    return [name for name in EXPLAINERS if ok[name]]
