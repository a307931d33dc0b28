"""Labelled texts for the grounding benchmark (benchmarks/grounding.py), built from one Evidence.

Each case is (text, label, kind): label "template" (the card's own sentence), "faithful" (a
paraphrase that states only evidence facts, in one of several surface forms) or "hallucination"
(a faithful text with one false or unsupported claim of a given kind). Every choice is drawn from
a `random.Random` the caller seeds, so the same evidence and seed give the same cases.

The kinds were fixed before the checker was tuned on them; the issue's examples are kinds
`foreign_person`, `award`, `critic`, `company`, `style`, `trending`, `user_story` and
`invented_relation`; the open-world checker's kinds are `dataset_entity`, `wrong_relation` and
`number`; `popularity`, `time`, `opinion` and `swapped_hop` complete the set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.explain.evidence import Evidence
from core.explain.lexicon import relation_key, relation_phrases, role_noun

PEOPLE = ("Steven Spielberg", "Meryl Streep", "Alfred Hitchcock", "Quentin Tarantino",
          "Greta Gerwig", "Akira Kurosawa", "Tom Hanks", "Ingrid Bergman")  # fmt: skip
AWARDS = (", and it won an Oscar.", ", and it won the Palme d'Or.",
          ". It won three Golden Globes.", ", an Academy Award winner.")  # fmt: skip
CRITICS = ("; critics call it a masterpiece.", ". Critics loved it.",
           "; reviewers rave about it.", ". Roger Ebert gave it four stars.")  # fmt: skip
COMPANIES = (", and it was produced by Warner Bros.", ", a Pixar production.",
             ", released by Universal Pictures.", ", from Netflix.")  # fmt: skip
STYLES = (", a gripping Hitchcock-style thriller.", ", a heartwarming family comedy.",
          ", a dark noir mystery.", ", with a stunning visual style.")  # fmt: skip
TRENDING = ("{T} is recommended because it is trending this week.",
            "{T} is recommended because it is viral right now.",
            "{T} is recommended because it is new on the service.",
            "{T} is recommended because everyone is talking about it.")  # fmt: skip
USER_STORIES = (
    " You watched it with friends last weekend.",
    " You bought it as a gift.",
    " You added it to your watchlist in March.",
    " Your sister recommended it.",
)
POPULAR = (" It is one of the most famous films ever made.", " It is a huge box-office hit.",
           " It is a cult favourite.", " Millions of viewers adore it.")  # fmt: skip
TIMES = (" It came out last year.", " It is a recent release.", " It is a timeless classic.",
         " It was filmed in the eighties.")  # fmt: skip
OPINIONS = (" You will love its brilliant soundtrack.", " It is a must-see.",
            " It is beautifully acted.", " Its ending is unforgettable.")  # fmt: skip
INVENTED = (
    "{T} is a sequel to {L}, which you liked.",
    "{T} is a remake of {L}, which you liked.",
    "{T} was inspired by {L}, which you liked.",
    "{T} parodies {L}, which you liked.",
)

KINDS = ("foreign_person", "award", "critic", "company", "style", "trending", "user_story",
         "invented_relation", "dataset_entity", "wrong_relation", "number", "popularity", "time",
         "opinion", "swapped_hop")  # fmt: skip
FORMS = ("reordered", "passive", "other_wording", "unquoted", "two_sentences", "cited")
# Added after the first results (every fixed form was accepted): wordings a chatty language model
# uses, written without looking at the vocabulary file, to probe how tight it is.
LATER_FORMS = ("hedged", "casual", "lowercase_names")


@dataclass(frozen=True)
class Case:
    text: str
    label: str  # "template" | "faithful" | "hallucination"
    kind: str  # the surface form of a faithful text, the hallucination kind, or "template"


@dataclass(frozen=True)
class Fact:
    """The one evidence fact the texts restate: the user liked L; L and T are linked through E
    by relation `rel` (E is "" for a path with no entity: user-item-item or collaborative)."""

    target: str
    liked: str
    entity: str
    rel: str
    pid: str
    anonymous: bool


def main_fact(ev: Evidence) -> Fact | None:
    """The first path's fact, else the heaviest history item (no entity)."""
    for p in ev.paths:
        hops = p.hops
        if len(hops) == 3 and hops[1].dst.startswith("e:") and hops[0].src.startswith("u:"):
            return Fact(ev.item_name, hops[0].dst_name, hops[1].dst_name, hops[1].relation,
                        p.pid, hops[1].dst in ev.anonymous)  # fmt: skip
    for p in ev.paths:
        if p.hops and p.hops[0].src.startswith("u:"):
            return Fact(ev.item_name, p.hops[0].dst_name, "", "", p.pid, False)
    liked = [w for w in ev.weights if w.kind == "history_item" and w.id != ev.item]
    if liked:
        return Fact(ev.item_name, liked[0].name, "", "", "", False)
    return None


def _q(name: str) -> str:
    return f'"{name}"'


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def faithful(f: Fact, rng: random.Random) -> list[Case]:
    """One paraphrase per surface form."""
    T, L = _q(f.target), _q(f.liked)
    cite = f" [{f.pid}]" if f.pid else ""
    if not f.entity:  # a shared user or the model's weight: the link itself is the fact
        texts = {
            "reordered": f"You liked {L}, so {T} is recommended to you.",
            "passive": f"{T} was recommended to you because of {L}, which you liked.",
            "other_wording": f"{T} is suggested since you enjoyed {L}.",
            "unquoted": f"Recommended because you liked {f.liked}: {f.target}.",
            "two_sentences": f"You liked {L}. That is why {T} is recommended.",
            "cited": f"{T} is recommended because you liked {L}{cite}.",
        }
    elif f.anonymous:
        noun = role_noun(f.rel)
        texts = {
            "reordered": f"{T} shares {_article(noun)} with {L}, which you liked.",
            "passive": f"{T} is recommended: {_article(noun)} is shared by it and {L}.",
            "other_wording": f"You liked {L}, and {T} has the same {noun}.",
            "unquoted": f"{f.target} shares {_article(noun)} with {f.liked}, which you liked.",
            "two_sentences": f"You liked {L}. {T} shares {_article(noun)} with it.",
            "cited": f"{T} shares {_article(noun)} with {L}{cite}.",
        }
    else:
        E = _q(f.entity)
        phrases = [p for p in relation_phrases(f.rel) if p]
        main = phrases[0] if phrases else role_noun(f.rel)
        other = rng.choice(phrases[1:]) if len(phrases) > 1 else main
        texts = {
            "reordered": f"{T} and {L}, which you liked, are both linked to {E} ({main}).",
            "passive": (
                f"{T} was {main} {E}, as was {L}, which you liked."
                if main.endswith(" by")
                else f"{E} is the {role_noun(f.rel)} of {T} and of {L}, which you liked."
            ),
            "other_wording": f"You liked {L}; {T} shares its {other}, {E}, with it.",
            "unquoted": f"Recommended because you liked {f.liked}, which, like {f.target}, "
            f"is linked to {f.entity} ({main}).",
            "two_sentences": f"You liked {L}. Like it, {T} is linked to {E} ({main}).",
            "cited": f"{T} is linked to {E} ({main}), as is {L}, which you liked{cite}.",
        }
    return [Case(t, "faithful", form) for form, t in texts.items()]


def later_forms(f: Fact) -> list[Case]:
    """The forms added after the first results (see LATER_FORMS)."""
    T, L = _q(f.target), _q(f.liked)
    if f.entity and not f.anonymous:
        link = (
            f'it is linked to "{f.entity}" ({(relation_phrases(f.rel) or (role_noun(f.rel),))[0]})'
        )
    elif f.entity:
        link = f"it shares {_article(role_noun(f.rel))} with {L}"
    else:
        link = f"it goes with {L}"
    texts = {
        "hedged": f"You might enjoy {T}, since {link}, just like {L}, which you liked.",
        "casual": f"Since you liked {L}, you'll probably like {T} too: {link}.",
        "lowercase_names": f"because you liked {f.liked.lower()}, we picked {f.target.lower()}.",
    }
    return [Case(t, "faithful", form) for form, t in texts.items()]


def _base(f: Fact) -> str:
    """A faithful sentence without its final full stop, to append a false claim to."""
    if f.entity and not f.anonymous:
        phrase = (relation_phrases(f.rel) or (role_noun(f.rel),))[0]
        return (
            f'"{f.target}" is recommended because you liked "{f.liked}", which is also '
            f'linked to "{f.entity}" ({phrase})'
        )
    return f'"{f.target}" is recommended because you liked "{f.liked}"'


def hallucinations(
    f: Fact, ev: Evidence, rng: random.Random, outsiders: list[str], relations: list[str]
) -> list[Case]:
    """One text per kind (a kind that cannot be built from this evidence is left out).
    outsiders: dataset names absent from the evidence; relations: the dataset's relation keys."""
    T, L, base = _q(f.target), _q(f.liked), _base(f)
    out = {
        "foreign_person": (
            base.replace(_q(f.entity), _q(rng.choice(PEOPLE)))
            if f.entity and not f.anonymous
            else f"{base}, directed by {rng.choice(PEOPLE)}."
        ),
        "award": base + rng.choice(AWARDS),
        "critic": base + rng.choice(CRITICS),
        "company": base + rng.choice(COMPANIES),
        "style": base + rng.choice(STYLES),
        "trending": rng.choice(TRENDING).format(T=T),
        "user_story": base + "." + rng.choice(USER_STORIES),
        "invented_relation": rng.choice(INVENTED).format(T=T, L=L),
        "number": f"{base}; it scores {rng.choice((0.97, 4.5, 12, 88))} for you.",
        "popularity": base + "." + rng.choice(POPULAR),
        "time": base + "." + rng.choice(TIMES),
        "opinion": base + "." + rng.choice(OPINIONS),
    }
    if outsiders:
        out["dataset_entity"] = f"{base}, just like {_q(rng.choice(outsiders))}, which you liked."
    held = {lk.relation for lk in ev.links}
    wrong = [r for r in relations if r not in held and relation_phrases(r)]
    if wrong:
        phrase = relation_phrases(rng.choice(wrong))[0]
        out["wrong_relation"] = f"{T} is recommended because, like {L}, which you liked, it " \
            f"has the same {phrase}."  # fmt: skip
    other = [w.name for w in ev.weights if w.kind == "history_item" and w.name != f.liked]
    if f.entity and not f.anonymous and other:
        phrase = (relation_phrases(f.rel) or (role_noun(f.rel),))[0]
        swapped = _q(rng.choice(other))
        # the relation moved onto a history item the evidence does not link to the entity
        if not any(
            {lk.a, lk.b} & {w.id for w in ev.weights if _q(w.name) == swapped}
            and relation_key(f.rel) == lk.relation
            for lk in ev.links
        ):
            out["swapped_hop"] = f'{T} is recommended: {swapped} is linked to "{f.entity}" ' \
                f"({phrase})."  # fmt: skip
    return [Case(t, "hallucination", kind) for kind, t in out.items()]


def cases(
    ev: Evidence, rng: random.Random, outsiders: list[str], relations: list[str]
) -> list[Case]:
    """The template, the faithful paraphrases and the hallucinations of one evidence."""
    f = main_fact(ev)
    out = [Case(ev.template, "template", "template")] if ev.template else []
    if f is None:
        return out
    found = faithful(f, rng) + hallucinations(f, ev, rng, outsiders, relations)
    return out + found + later_forms(f)  # last, so the earlier cases keep their random draws
