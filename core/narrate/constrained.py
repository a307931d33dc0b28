"""Constrained generation for small in-process models (issue 26): a llama.cpp grammar (GBNF) that
admits only what the closed-world check can attribute.

The grammar admits one sentence that opens with the recommended item's name, quoted, and
continue with words of the discourse vocabulary, words of the evidence's relation
verbalisations, and the evidence's names (quoted, exactly as given). No digit, no other word and
no other name can be sampled, so what a small model can still get wrong is only how the facts
connect (which the check's relation and connection rules catch), never a name, an award or a
story from world knowledge. The grammar is data for the backend; the check still runs on every
answer and the template is still the fallback.
"""

from __future__ import annotations

from core.explain.closed_world import discourse_vocabulary
from core.explain.evidence import Evidence
from core.explain.lexicon import relation_phrases, tokens

MAX_WORDS = 40  # words after the item's name


def _literal(text: str) -> str:
    """A GBNF string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def evidence_names(ev: Evidence) -> list[str]:
    """Every name a text about `ev` may use (never a user's)."""
    names = [ev.item_name] + [w.name for w in ev.weights if w.kind != "attribute_type"]
    for p in ev.paths:
        for h in p.hops:
            names += [n for nid, n in ((h.src, h.src_name), (h.dst, h.dst_name)) if nid[0] != "u"]
    if ev.counterfactual:
        names += list(ev.counterfactual.removed_names)
    return list(dict.fromkeys(n for n in names if n))


def allowed_words(ev: Evidence) -> list[str]:
    """Lower-case words: the discourse vocabulary and the evidence relations' wording."""
    rels = {lk.relation for lk in ev.links} | ev.attribute_relations
    words = set(discourse_vocabulary())
    words |= {t for r in rels for ph in relation_phrases(r) for t, _, _ in tokens(ph)}
    return sorted(w for w in words if w.isalpha() and len(w) > 1 or w in ("a", "i"))


def grammar(ev: Evidence) -> str:
    """The GBNF grammar of texts about `ev` (see the module docstring)."""
    names = " | ".join(_literal(f'"{n}"') for n in evidence_names(ev))
    words = " | ".join(_literal(w) for w in allowed_words(ev))
    return "\n".join(
        [
            f"root ::= item (\" \" piece){{2,{MAX_WORDS}}} \".\"",
            f"item ::= {_literal(chr(34) + ev.item_name + chr(34))}",
            'piece ::= (word | name) ","?',
            f"name ::= {names}",
            f"word ::= {words}",
        ]
    )
