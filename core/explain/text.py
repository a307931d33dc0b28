"""One plain sentence per explanation, from templates per method and path shape.

Sentences use only names already in the explanation (its paths, contributions, counterfactual and
`extra["item_name"]`), so they cannot claim what the explanation's data does not support. Text is
left unescaped; renderers escape it where it reaches HTML.
"""

from __future__ import annotations

import dataclasses

from core.explain.base import Explanation, Path
from core.explain.lexicon import role_noun
from core.subgraph import relation_phrase


def names_list(names: list[str]) -> str:
    """'"A"', '"A" and "B"', '"A", "B" and "C"'."""
    quoted = [f'"{n}"' for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _node_names(expl: Explanation) -> dict[str, str]:
    names = dict(expl.subgraph.nodes) if expl.subgraph else {}
    for c in expl.contributions:
        names.setdefault(c.id, c.name)
    return names


def _path_sentence(expl: Explanation, path: Path) -> str:
    names = _node_names(expl)
    target = expl.extra.get("item_name", names.get(path.nodes[-1], ""))
    first = names.get(path.nodes[1], "")
    if path.kind == "user-item-entity-item":
        entity = path.nodes[2]
        via = [p.nodes[1] for p in expl.paths if p.kind == path.kind and p.nodes[2] == entity]
        liked = [names[n] for n in dict.fromkeys(via) if n in names][:2]
        if entity in expl.extra.get("entity_ids", {}):  # no name: say what it is (readable.py)
            noun = role_noun(path.edges[1].relation)
            article = "an" if noun[:1] in "aeiou" else "a"
            verb = "share" if len(liked) > 1 else "shares"
            return (
                f"Recommended because you liked {names_list(liked)}, which {verb} {article} "
                f'{noun} with "{target}".'
            )
        rel = relation_phrase(path.edges[2].relation)
        return (
            f'Recommended because you liked {names_list(liked)}, which, like "{target}", '
            f'{"are" if len(liked) > 1 else "is"} linked to "{names.get(entity, "")}" ({rel}).'
        )
    if path.kind == "user-item-item":
        rel = relation_phrase(path.edges[1].relation)
        return f'Recommended because you liked "{first}", which is linked to "{target}" ({rel}).'
    return f'Recommended because other users who liked "{first}" also liked "{target}".'


def _history_names(expl: Explanation, n: int) -> list[str]:
    items = [c for c in expl.contributions if c.kind == "history_item" and c.weight > 0]
    return [c.name for c in sorted(items, key=lambda c: -c.weight)[:n]]


def sentence(expl: Explanation) -> str:
    """The sentence for one explanation (empty when its data supports none)."""
    target = expl.extra.get("item_name", "")
    cf = expl.counterfactual
    if expl.method == "popularity":
        x = expl.extra
        return (
            f'"{target}" is popular: {x.get("popularity", 0)} of {x.get("n_users", 0)} users chose '
            f"it, including {x.get('similar_chose', 0)} of the {x.get('similar_users', 0)} users "
            "who share an item with you."
        )
    if expl.method == "counterfactual":
        if cf is not None and cf.valid:
            how = (
                "the model re-fitted to the rest of your history"
                if cf.variant == "refit"
                else "the model's learned picture of you kept"
            )
            return (
                f'Without {names_list(list(cf.removed_names))} in your history, "{target}" '
                f"would fall to rank {cf.new_rank}, out of your top {cf.k} ({how})."
            )
        tried = expl.extra.get("max_removals", 0)
        return (
            f'Removing up to {tried} of your items does not push "{target}" out of your top list.'
        )
    if expl.method == "paths":
        if expl.paths:
            return _path_sentence(expl, expl.paths[0])
        return f'No path in the knowledge graph links your history to "{target}".'
    liked = _history_names(expl, 2)
    if expl.method == "influence":
        if not liked:
            return f'No item of your history raises the score of "{target}" on its own.'
        return (
            f"Recommended mostly because you liked {names_list(liked)}: without "
            f'{"them" if len(liked) > 1 else "it"} the model, re-fitted, would score "{target}" '
            "lowest."
        )
    if not liked:
        return _path_sentence(expl, expl.paths[0]) if expl.paths else ""
    # the item is named, so a checked text can be told from one about another item
    text = f'"{target}" is recommended mostly because you liked {names_list(liked)}'
    on_paths = {n for p in expl.paths for n in p.nodes[1:-1]}  # a shown path backs the claim
    entities = [
        c for c in expl.contributions if c.kind == "entity" and c.weight > 0 and c.id in on_paths
    ]
    if entities:
        top = max(entities, key=lambda c: c.weight)
        text += f'; "{top.name}" links your history to "{target}"'
    attrs = [c for c in expl.contributions if c.kind == "attribute_type"]
    if attrs:
        top = max(attrs, key=lambda c: c.weight)
        text += f"; of their attributes, {relation_phrase(top.name)} weighs most"
    return text + "."


def with_sentence(expl: Explanation) -> Explanation:
    return dataclasses.replace(expl, sentence=sentence(expl))
