"""The restricted checkpoint reader builds data and runs nothing (core.store.safe_checkpoint)."""

from __future__ import annotations

import builtins
import os
import subprocess
import zipfile

import numpy as np
import pytest
import torch

from core.store.safe_checkpoint import (
    CheckpointError,
    Inert,
    UnsafeCheckpoint,
    load_checkpoint,
)
from tests.store.recbole_fakes import fake_recbole, write_checkpoint


@pytest.mark.parametrize("protocol", [2, 4])
def test_recbole_like_checkpoint_reads_as_data(tmp_path, monkeypatch, protocol):
    fake_recbole(monkeypatch)
    gen = torch.Generator().manual_seed(0)
    weights = {"user_embedding.weight": torch.randn(5, 3, generator=gen)}
    settings = {"model": "BPR", "embedding_size": 3, "arr": np.arange(4)}
    path = write_checkpoint(tmp_path / "BPR.pth", settings, weights, protocol)
    obj = load_checkpoint(path)
    config = obj["config"]
    assert isinstance(config, Inert)
    assert (config.module, config.name) == ("recbole.config.configurator", "Config")
    final = config.state["final_config_dict"]
    assert final["model"] == "BPR" and final["embedding_size"] == 3
    assert isinstance(final["MODEL_TYPE"], Inert) and final["MODEL_TYPE"].args == (1,)
    assert np.array_equal(final["arr"], np.arange(4))
    assert torch.equal(obj["state_dict"]["user_embedding.weight"], weights["user_embedding.weight"])
    assert obj["best_valid_score"] == pytest.approx(0.25)


class _Evil:
    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def _calls(sentinel):
    return [
        (os.system, (f"touch {sentinel}",)),
        (subprocess.Popen, (["touch", str(sentinel)],)),
        (subprocess.getoutput, (f"touch {sentinel}",)),  # `commands.getoutput` in protocol 2
        (builtins.eval, (f"open({str(sentinel)!r}, 'w')",)),
        (builtins.exec, (f"open({str(sentinel)!r}, 'w')",)),
    ]


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("which", range(5))
def test_code_carrying_pickle_is_refused_and_nothing_runs(tmp_path, protocol, which):
    sentinel = tmp_path / "sentinel"
    call, args = _calls(sentinel)[which]
    path = tmp_path / "evil.pth"
    state = {"w": torch.zeros(2)}
    torch.save({"state_dict": state, "config": _Evil(call, args)}, path, pickle_protocol=protocol)
    with pytest.raises(UnsafeCheckpoint) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "refusing" in str(err.value)
    assert not sentinel.exists()


def test_not_a_zip_is_refused_with_the_file(tmp_path):
    path = tmp_path / "legacy.pth"
    path.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError, match="legacy.pth: not a torch zip"):
        load_checkpoint(path)


def test_missing_storage_is_named(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.ones(3)}, good)
    bad = tmp_path / "bad.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if "/data/" not in item.filename:
                dst.writestr(item, src.read(item))
    with pytest.raises(CheckpointError, match="storage .*data/0 is missing"):
        load_checkpoint(bad)
