"""RecBole-like checkpoints written in the test process, without RecBole.

`fake_recbole(monkeypatch)` registers modules named like RecBole's (`recbole.config.configurator`
with a `Config` class, `recbole.utils.enum_type` with `ModelType`) in this process only, so that
`torch.save` writes a pickle naming the same classes as a RecBole 1.2.1 Trainer checkpoint does.
"""

from __future__ import annotations

import enum
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch


class Config:
    """Stand-in for recbole.config.configurator.Config (pickled by its __dict__)."""

    def __init__(self, final_config_dict: dict) -> None:
        self.final_config_dict = final_config_dict
        self.model = final_config_dict.get("model")


class ModelType(enum.Enum):
    GENERAL = 1
    KNOWLEDGE = 4


def fake_recbole(monkeypatch) -> None:
    """Register the stand-ins under RecBole's module names for this test only."""
    modules = {
        "recbole": types.ModuleType("recbole"),
        "recbole.config": types.ModuleType("recbole.config"),
        "recbole.config.configurator": types.ModuleType("recbole.config.configurator"),
        "recbole.utils": types.ModuleType("recbole.utils"),
        "recbole.utils.enum_type": types.ModuleType("recbole.utils.enum_type"),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(Config, "__module__", "recbole.config.configurator")
    monkeypatch.setattr(ModelType, "__module__", "recbole.utils.enum_type")
    modules["recbole.config.configurator"].Config = Config
    modules["recbole.utils.enum_type"].ModelType = ModelType


def write_checkpoint(
    path: Path, settings: dict, state_dict: dict[str, torch.Tensor], protocol: int = 2
) -> Path:
    """A checkpoint shaped like RecBole's Trainer writes it (fake_recbole must be active)."""
    config = Config({"MODEL_TYPE": ModelType.GENERAL, "device": torch.device("cpu"), **settings})
    torch.save(
        {
            "config": config,
            "epoch": 3,
            "cur_step": 0,
            "best_valid_score": np.float64(0.25),
            "state_dict": OrderedDict(state_dict),
            "other_parameter": {},
            "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0, 1]}]},
        },
        path,
        pickle_protocol=protocol,
    )
    return path
