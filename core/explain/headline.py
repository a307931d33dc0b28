"""The card's headline sentence, chosen from the card's own deletion measurement (issue 26).

A sentence like "Recommended because you liked X, which, like Y, ..." claims a personal reason:
that the user's history, and those items in it, carry the recommendation. The deletion test
measures exactly that: remove the m history items the explanation ranks highest and see how far
the item falls, next to removing m random items. When the explanation's items move it no more
than random ones (drop@m <= random drop@m), the personal sentence is replaced by one that says so
and what the score does rest on: the item itself, chosen by so many of all users.

The numbers the sentence states go into `extra` (so the grounding check finds them in the
evidence), and the sentence uses only words of the discourse vocabulary.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from core.explain.base import Explanation

# methods whose sentence claims a reason in the user's history
PERSONAL = ("attention", "paths", "edges", "influence")


def personal_supported(drop: float, random_drop: float) -> bool:
    """A personal reason is supported when removing the explanation's items moves the item
    further than removing random ones (a missing measurement, NaN, supports nothing)."""
    return math.isfinite(drop) and math.isfinite(random_drop) and drop > random_drop


def item_popularity(history_items: np.ndarray, item: int) -> int:
    """How many users have `item` in their training history."""
    return int(np.count_nonzero(history_items == item))


def impersonal_sentence(
    name: str, m: int, drop: float, random_drop: float, pop: int, n: int
) -> str:
    return (
        f'"{name}" depends little on your history: removing the {m} items this explanation '
        f"ranks highest moves it {_places(drop)}, no more than removing {m} random items "
        f"({_places(random_drop)}). It rests mostly on the item, not on you: {pop} of {n} "
        "users chose it."
    )


def _places(x: float) -> str:
    v = f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"
    return f"{v} place" + ("" if v == "1" else "s")


def with_headline(
    expl: Explanation, drop: float, random_drop: float, m: int, pop: int, n_users: int
) -> Explanation:
    """`expl` with the sentence its measurement supports: its own when the method is not
    personal or the personal reason holds (drop@m > random drop@m), else `impersonal_sentence`,
    with the numbers it states added to `extra`."""
    if expl.method not in PERSONAL or personal_supported(drop, random_drop):
        return expl
    if not (math.isfinite(drop) and math.isfinite(random_drop)):
        return expl  # nothing measured: nothing contradicts the sentence
    name = str(expl.extra.get("item_name", ""))
    stated = {
        "removed_items": m,
        "explained_drop": round(float(drop), 1),
        "random_drop": round(float(random_drop), 1),
        "popularity": pop,
        "n_users": n_users,
    }
    sentence = impersonal_sentence(name, m, drop, random_drop, pop, n_users)
    extra = {**expl.extra, **stated, "personal": False}
    return dataclasses.replace(expl, sentence=sentence, extra=extra)


def claims_personal(sentence: str) -> bool:
    """Whether a sentence gives the user's history as the reason (the template forms)."""
    low = sentence.lower()
    return "because you liked" in low or "links your history" in low
