"""Where an artifact's model came from: trained here, or imported from another system.

meta.json records it under "origin" so every model list, card and export can say what it explains
("RecBole 1.2.1 LightGCN", "embeddings, dot", "surrogate of lists, 0.81@10"). Artifacts written
before imports existed have no key and read as trained by RecLens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TRAINED, CHECKPOINT, EMBEDDINGS, SURROGATE = "trained", "checkpoint", "embeddings", "surrogate"
KINDS = (TRAINED, CHECKPOINT, EMBEDDINGS, SURROGATE)


@dataclass(frozen=True)
class Origin:
    """kind: one of KINDS. library/version: the system that made the source ("RecBole", "1.2.1").
    model: the source's model name. file / sha256: the imported file. measured: the figures the
    import measured (parity with the source, or a surrogate's agreement with its lists).
    summary: one short phrase for model lists. settings: the source's recorded settings."""

    kind: str = TRAINED
    library: str = "RecLens"
    version: str = ""
    model: str = ""
    file: str = ""
    sha256: str = ""
    measured: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"origin kind {self.kind!r}: expected one of {', '.join(KINDS)}")

    @property
    def imported(self) -> bool:
        return self.kind != TRAINED

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)


def origin_of(meta: dict[str, Any]) -> Origin:
    """The artifact's origin from its meta.json; no "origin" key means trained by RecLens."""
    raw = meta.get("origin")
    if not raw:
        return Origin()
    if not isinstance(raw, dict):
        raise ValueError(f"meta.json 'origin': expected an object, got {type(raw).__name__}")
    known = {name: raw[name] for name in Origin.__dataclass_fields__ if name in raw}
    return Origin(**known)


def origin_label(meta: dict[str, Any]) -> str:
    """A short phrase for model lists: "" for models trained here, else the origin's summary."""
    origin = origin_of(meta)
    if not origin.imported:
        return ""
    if origin.summary:
        return origin.summary
    return " ".join(part for part in (origin.library, origin.version, origin.model) if part)
