"""The line every card and explain output of an imported model carries: what is explained and
how its re-fits work. Torch-free; reads only the origin in meta.json (core.store.origin)."""

from __future__ import annotations

from typing import Any

from core.store.origin import CHECKPOINT, EMBEDDINGS, SURROGATE, origin_of

NAMES = {"lightgcn": "LightGCN", "kgat": "KGAT"}
REFIT_NOTE = "user vector re-fitted on the edited history, item vectors frozen"


def origin_caption(meta: dict[str, Any]) -> str:
    """ "" for a model trained by RecLens, else one or two plain sentences (data text: show it as
    text). Surrogate: its agreement with the lists and that the figures are the surrogate's;
    embeddings: the score rule and how re-fits treat the tables; checkpoint: the source."""
    origin = origin_of(meta)
    m = origin.measured
    # Origin's default library is RecLens (trained here); an import names its source or none
    source = f" from {origin.library}" if origin.library not in ("", "RecLens") else ""
    if origin.kind == SURROGATE:
        key = next((k for k in m if k.startswith("agreement@") and "_" not in k), "")
        figure = f"agrees {m[key]:.2f}@{key.split('@')[1]}" if key else "was fitted"
        notes = []
        if isinstance(m.get("heldout_users"), (int, float)):
            notes.append(f"on {m['heldout_users']:.0f} held-out users")
        if isinstance(m.get("rank_corr"), (int, float)):
            notes.append(f"rank correlation {m['rank_corr']:.2f}")
        detail = f" ({', '.join(notes)})" if notes else ""
        model = NAMES.get(origin.model, origin.model)
        return (
            f"Explains a surrogate that {figure} with your lists{source}{detail}: a {model} "
            "fitted to reproduce them. Fidelity and counterfactuals measure the surrogate."
        )
    if origin.kind == EMBEDDINGS:
        rule = origin.settings.get("score", "dot")
        return f"Explains imported embeddings{source} ({rule}). Re-fits: {REFIT_NOTE}."
    if origin.kind == CHECKPOINT:
        name = " ".join(p for p in (origin.library, origin.version, origin.model) if p)
        return f"Explains a model imported from a {name} checkpoint."
    return ""
