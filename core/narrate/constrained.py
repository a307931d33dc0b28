"""Constrained generation for small in-process models (issue 26): slot filling through a
llama.cpp grammar (GBNF) built from the evidence.

The grammar admits `"<item>" is recommended because <reason>.[ Also, <reason>.]`,
where each reason is one evidence fact in words: a path ("you liked "Gravity", which is also
directed by "Ridley Scott"", "it shares an actor with "Star Wars", which you liked"), a shared
user, or a weighted history item. The model chooses which facts to give, in which order and in
which of two wordings; it cannot write a name, a number or a word of its own. What it buys: a
small model's answer passes the check (SmolLM2-135M's free answers almost never did); what it
costs: the text is hardly freer than the template. The check still runs on every answer and the
template stays the fallback. A capable endpoint (OpenAI-compatible) is asked without it.
"""

from __future__ import annotations

from core.explain.evidence import Evidence, EvidencePath
from core.explain.lexicon import relation_phrases, role_noun

MAX_REASONS = 2


def _literal(text: str) -> str:
    """A GBNF string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _path_reasons(p: EvidencePath, anonymous: tuple[str, ...]) -> list[str]:
    hops = p.hops
    if not hops or not hops[0].src.startswith("u:"):
        return []
    liked = hops[0].dst_name
    if len(hops) == 3 and hops[1].dst.startswith("e:"):
        noun = role_noun(hops[1].relation)
        if hops[1].dst in anonymous:
            return [f'it shares {_article(noun)} with "{liked}", which you liked']
        ent = hops[1].dst_name
        phrase = (relation_phrases(hops[1].relation) or (noun,))[0]
        first = (
            f'you liked "{liked}", which is also {phrase} "{ent}"'
            if phrase.endswith(" by")
            else f'you liked "{liked}", which also has the {noun} "{ent}"'
        )
        return [first, f'it shares {_article(noun)}, "{ent}", with "{liked}", which you liked']
    if len(hops) == 3 and hops[1].relation == "~interacted":
        return [f'other users who liked "{liked}" also liked it']
    if len(hops) == 2:
        phrase = (relation_phrases(hops[1].relation) or ("linked",))[0]
        return [f'you liked "{liked}", which is linked to it ({phrase})']
    return []


def reasons(ev: Evidence) -> list[str]:
    """Every reason the grammar offers, in evidence order."""
    out = [r for p in ev.paths for r in _path_reasons(p, ev.anonymous)]
    if not out:
        liked = [w.name for w in ev.weights if w.kind == "history_item" and w.id != ev.item]
        out = [f'you liked "{name}"' for name in liked[:3]]
    return list(dict.fromkeys(out))


def grammar(ev: Evidence) -> str | None:
    """The GBNF grammar of texts about `ev`; None when the evidence offers no reason."""
    if not ev.personal:  # the measured sentence is the only one the card supports
        return f"root ::= {_literal(ev.template)}" if ev.template else None
    found = reasons(ev)
    if not found:
        return None
    more = " | ".join(_literal(r) for r in found)
    return "\n".join(
        [
            # one sentence per reason, so each relation phrase sits next to its own names
            f'root ::= item " is recommended because " reason "." (" Also, " reason "."){{0,'
            f"{MAX_REASONS - 1}}}",
            f"item ::= {_literal(chr(34) + ev.item_name + chr(34))}",
            f"reason ::= {more}",
        ]
    )
