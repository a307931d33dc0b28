"""The plain-dict registry of models: name -> Recommender class. The UI's model list reads it.

Each class carries its frozen config dataclass (`config_cls`) and a `build` classmethod; building
a model by name is config defaults + overrides, then `build`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import torch

from core.models.attention import Attention
from core.models.base import ModelInputs, Recommender
from core.models.bprmf import BPRMF
from core.models.embedding_table import EmbeddingTable
from core.models.kgat import KGAT
from core.models.lightgcn import LightGCN
from core.models.mostpop import MostPop
from core.models.transr import TransE, TransR

MODELS: dict[str, type[Recommender]] = {
    "mostpop": MostPop,
    "bprmf": BPRMF,
    "lightgcn": LightGCN,
    "attention": Attention,
    "transe": TransE,
    "transr": TransR,
    "kgat": KGAT,
    "embeddings": EmbeddingTable,
}
# made only by `python -m core import` (their weights come from another system): never offered
# for training
IMPORT_ONLY: frozenset[str] = frozenset({"embeddings"})


def trainable_models() -> list[str]:
    """The models the Train page and `python -m core train` offer, in registry order."""
    return [name for name in MODELS if name not in IMPORT_ONLY]


class UnknownModelError(ValueError):
    """A model name that is not in MODELS, or a config field the model does not have."""


def model_class(name: str) -> type[Recommender]:
    """The registered class for `name`; an unknown name raises UnknownModelError listing all."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model '{name}'; known models: {known}") from None


def make_config(name: str, overrides: dict[str, Any] | None = None):
    """The model's config dataclass: its defaults with `overrides` applied.

    Unknown fields raise UnknownModelError naming the valid ones. JSON lists become tuples, since
    configs are frozen and hashable (this is how a config read back from meta.json is rebuilt).
    """
    cls = model_class(name).config_cls
    fields = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(overrides or {}) - fields)
    if bad:
        raise UnknownModelError(
            f"model '{name}' has no setting {', '.join(bad)}; "
            f"its settings are: {', '.join(sorted(fields)) or '(none)'}"
        )
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in (overrides or {}).items()}
    return cls(**clean)


def parse_override(name: str, key: str, text: str) -> Any:
    """Turn a command-line `key=value` string into the type of the config field's default.

    ints, floats and bools parse as such; tuples accept JSON lists or comma-separated values.
    """
    cls = model_class(name).config_cls
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    if key not in defaults:
        make_config(name, {key: None})  # raises with the list of valid settings
    default = defaults[key]
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            values = json.loads(text) if text.startswith("[") else text.split(",")
            kind = type(default[0]) if default else str
            return tuple(kind(v) for v in values)
    except ValueError:
        raise UnknownModelError(
            f"setting {key}={text!r}: expected a value like {default!r}"
        ) from None
    return text


def build_model(
    name: str,
    inputs: ModelInputs,
    config_overrides: dict[str, Any] | None = None,
    device: torch.device | str = "cpu",
) -> Recommender:
    """Build model `name` from `inputs` with its default config plus `config_overrides`."""
    config = make_config(name, config_overrides)
    return model_class(name).build(inputs, config, torch.device(device))
