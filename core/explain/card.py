"""The complete explanation card of one recommendation, computed in one call, by default.

`explain_card(ctx, user, item, k)` returns a `Card` with everything the dashboard's card shows
without a toggle:
- `explanation`: the model's own explanation (`primary_method`: attention for the attention
  model, KG paths for KGAT / TransE / TransR, gradient x edge weight for LightGCN, influence
  for BPR-MF, popularity for MostPop), carrying the sentence, the weights for the heatmap
  (`contributions` of kind history_item / attribute_type), the KG subgraph (`subgraph`), the
  top paths (`paths`; `Explanation.share_of_score(path)` gives each path's share of the
  explained score, 0..1, for display instead of raw products such as 0.0001);
- `deletion`: the deletion curve of that explanation (`fidelity.DeletionCurve`: the item's rank
  after removing its top m = 0..5 history items and after m random ones; `ratio(3)` is the
  ratio to random at 3 removals), None when the user has too few history items or the model
  cannot re-score an edited history;
- `counterfactual`: the counterfactual explanation (its `.counterfactual` record holds the
  removed items, the new rank, `valid` from the independent check, and `variant`), None when
  the model cannot re-score;
- `variant`: which re-scoring produced the deletion and counterfactual numbers: "refit" (the
  user's own parameters re-fitted on the edited history: what the model would have learned)
  or "inference" (learned parameters kept). Label the numbers with it;
- `timings_ms`: milliseconds spent on each part.

Every part is one or a few batched model calls, cheap enough to compute for every card (see
`python -m core bench latency`). Inputs are internal ids; the context is read-only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.explain import api
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.fidelity import DeletionCurve, deletion_curve
from core.explain.registry import supported_methods
from core.models.base import NotSupported

# the model's own explanation, most specific first
PRIMARY = ("attention", "paths", "edges", "influence", "popularity", "counterfactual")


@dataclass(frozen=True)
class Card:
    """One recommendation's full card (see the module docstring for each field)."""

    explanation: Explanation
    deletion: DeletionCurve | None
    counterfactual: Explanation | None
    variant: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)


def primary_method(ctx: ExplainContext) -> str:
    """The explanation method the card leads with for this model."""
    offered = supported_methods(ctx)
    for method in PRIMARY:
        if method in offered:
            return method
    raise NotSupported(f"model {ctx.model.name} supports no explanation method")


def explain_card(
    ctx: ExplainContext,
    user: int,
    item: int,
    k: int = 10,
    method: str | None = None,
    max_removals: int = 10,
    deletion_m: int = 5,
    random_draws: int = 2,
    seed: int = 0,
) -> Card:
    """Everything the card shows for (user, item) in a top-k list: the explanation by `method`
    (default `primary_method`), its deletion curve (m = 0..deletion_m, `random_draws` random
    sets per m, seeded by `seed` and the ids), and the counterfactual (up to max_removals).
    Raises NotSupported / IndexError as `api.explain` does."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    expl = api.explain(ctx, user, item, method or primary_method(ctx), k)
    times["explanation"] = (time.perf_counter() - t0) * 1000
    deletion = counterfactual = None
    if "counterfactual" in supported_methods(ctx):
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, int(user), int(item)])
        deletion = deletion_curve(ctx, expl, deletion_m, random_draws, rng)
        times["deletion"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        if expl.method == "counterfactual":
            counterfactual = expl
        else:
            counterfactual = api.explain(
                ctx, user, item, "counterfactual", k, max_removals=max_removals
            )
        times["counterfactual"] = (time.perf_counter() - t0) * 1000
    return Card(
        expl, deletion, counterfactual, ctx.rescoring if deletion or counterfactual else None, times
    )
