"""The complete explanation card of one recommendation: the one source of what the card holds,
for the dashboard, the CLI and `python -m core bench latency` alike.

`card_parts(ctx, user, item, k)` yields the card's parts lazily, in the order a renderer draws
them (`PARTS`): the explanation first, then the two that re-score the model (`RESCORING`),
computed only when the consumer asks for them, so the dashboard draws the explanation's graph,
paths and heatmap before it asks. `CardSettings` fixes how the re-scoring parts are measured.

`explain_card(ctx, user, item, k)` takes every part at once and returns a `Card` with
everything the dashboard's card shows without a toggle:
- `explanation`: the model's own explanation (`primary_method`: attention for the attention
  model, KG paths for KGAT / TransE / TransR, gradient x edge weight for LightGCN, influence
  for BPR-MF, popularity for MostPop), carrying the sentence, the weights for the heatmap
  (`contributions` of kind history_item / attribute_type), the KG subgraph (`subgraph`), the
  top paths (`paths`; `Explanation.share_of_score(path)` gives each path's share of the
  explained score, 0..1, for display instead of raw products such as 0.0001);
  Its sentence is the one the deletion curve supports (`headlined`: no personal reason when
  removing the top 3 history items moves the item no more than 3 random ones);
- `deletion`: the deletion curve of that explanation (`fidelity.DeletionCurve`: the item's rank
  after removing its top m = 0..3 history items and after m random ones; `ratio(3)` is the
  ratio to random at 3 removals), None when the user has too few history items, the model
  cannot re-score an edited history or the explanation is itself the counterfactual;
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from core.explain import api, quality
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.counterfactual import order_from
from core.explain.fidelity import DeletionCurve
from core.explain.headline import item_popularity, with_headline
from core.explain.registry import supported_methods
from core.models.base import NotSupported, can_rescore

# the model's own explanation, most specific first
PRIMARY = ("attention", "paths", "edges", "influence", "popularity", "counterfactual")

PartName = Literal["explanation", "deletion", "counterfactual"]
PARTS: tuple[PartName, ...] = ("explanation", "deletion", "counterfactual")
# the parts that re-score the model (a batched re-fit each: seconds on a large graph model),
# so a renderer draws the explanation's parts before it asks for these
RESCORING: tuple[PartName, ...] = ("deletion", "counterfactual")


@dataclass(frozen=True)
class CardSettings:
    """How the card's re-scoring parts are measured; the defaults are what the dashboard shows."""

    deletion_m: int = 3  # the deletion curve's removals, m = 0..deletion_m (ratio@3 needs 3)
    random_draws: int = 2  # random history sets per m, averaged
    seed: int = 0  # seeds the random sets (numpy), the same for every card
    max_removals: int = 10  # the counterfactual's largest removal set


@dataclass(frozen=True)
class CardPart:
    """One part of a card: `value` is an Explanation for "explanation", a DeletionCurve or
    None for "deletion", the counterfactual Explanation or None for "counterfactual"."""

    name: PartName
    value: Any
    ms: float  # milliseconds spent computing it


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


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def card_parts(
    ctx: ExplainContext,
    user: int,
    item: int,
    k: int = 10,
    method: str | None = None,
    settings: CardSettings = CardSettings(),
    explanation: Explanation | None = None,
) -> Iterator[CardPart]:
    """The card of (user, item) in a top-k list, part by part in `PARTS` order, each computed
    when the consumer asks for it: the explanation by `method` (default `primary_method`;
    `explanation` reuses one already computed for these arguments), then `rescoring_parts`.
    Raises NotSupported / IndexError as `api.explain` does, at the first part."""
    t0 = time.perf_counter()
    if explanation is None:
        explanation = api.explain(ctx, user, item, method or primary_method(ctx), k)
    yield CardPart("explanation", explanation, _ms(t0))
    yield from rescoring_parts(ctx, explanation, k, settings)


def rescoring_parts(
    ctx: ExplainContext, expl: Explanation, k: int, settings: CardSettings = CardSettings()
) -> Iterator[CardPart]:
    """The card's re-scoring parts for `expl` (`RESCORING` order), with the context's default
    re-scoring (the user re-fit where the model has one):
    - "deletion": `quality.deletion_curve` (m = 0..settings.deletion_m, `random_draws` random
      sets per m from a generator seeded by `settings.seed`), or None;
    - "counterfactual": `expl` itself when it is a counterfactual explanation, else the
      counterfactual explainer's (up to `settings.max_removals` items); None when the model
      cannot re-score an edited history."""
    t0 = time.perf_counter()
    curve = quality.deletion_curve(
        ctx, expl, settings.deletion_m, settings.random_draws, settings.seed
    )
    yield CardPart("deletion", curve, _ms(t0))
    t0 = time.perf_counter()
    yield CardPart("counterfactual", _counterfactual(ctx, expl, k, settings), _ms(t0))


def _counterfactual(
    ctx: ExplainContext, expl: Explanation, k: int, settings: CardSettings
) -> Explanation | None:
    if not can_rescore(ctx.model):
        return None
    if expl.method == "counterfactual":
        return expl

    return api.explain(
        ctx,
        expl.user,
        expl.item,
        "counterfactual",
        k,
        max_removals=settings.max_removals,
        order=order_from(ctx, expl),  # the explanation's attribution, not a second pass
    )


def headlined(ctx: ExplainContext, expl: Explanation, curve: DeletionCurve | None) -> Explanation:
    """`expl` with the sentence its deletion curve supports (core.explain.headline): a
    personal reason only when its top 3 items move the item further than 3 random ones."""
    if curve is None or len(curve.ranks) <= 3:
        return expl
    pop = item_popularity(ctx.history_items, expl.item)
    return with_headline(expl, curve.drop(3), curve.random_drop(3), 3, pop, ctx.n_users)


def missing_counterfactual_note(
    ctx: ExplainContext, settings: CardSettings = CardSettings()
) -> str:
    """What the card says in place of a counterfactual it does not have."""
    if can_rescore(ctx.model):
        return (
            f"No set of up to {settings.max_removals} history items pushes it out of the top list."
        )
    return "No counterfactual: this model cannot re-score an edited history."


def explain_card(
    ctx: ExplainContext,
    user: int,
    item: int,
    k: int = 10,
    method: str | None = None,
    max_removals: int = 10,
    deletion_m: int = 3,
    random_draws: int = 2,
    seed: int = 0,
) -> Card:
    """Every part of `card_parts` at once, as a `Card` (arguments as in `CardSettings`).
    Raises NotSupported / IndexError as `api.explain` does."""
    settings = CardSettings(deletion_m, random_draws, seed, max_removals)
    parts = {p.name: p for p in card_parts(ctx, user, item, k, method, settings)}
    deletion, counterfactual = parts["deletion"].value, parts["counterfactual"].value
    rescored = deletion is not None or counterfactual is not None
    times = {name: p.ms for name, p in parts.items() if name == "explanation" or rescored}
    return Card(
        headlined(ctx, parts["explanation"].value, deletion),
        deletion,
        counterfactual,
        ctx.rescoring if rescored else None,
        times,
    )
