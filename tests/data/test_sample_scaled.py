"""The sample generator's size knob: the same planted structure at other sizes (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import load_dataset
from core.data.sample import SampleConfig, main, write_sample
from core.data.sample_catalog import _unique_strings


def test_scaled_1000_is_the_default_that_writes_sample_data():
    assert SampleConfig.scaled(1000) == SampleConfig()


def test_a_scaled_sample_keeps_the_planted_structure(tmp_path):
    counts = write_sample(tmp_path, SampleConfig.scaled(300))
    assert (counts["users"], counts["items"]) == (300, 822)
    assert 720 <= counts["driver_share_permille"] <= 850  # the default's band
    ds = load_dataset(str(tmp_path))
    per_user = ds.interactions.groupby("user").size()
    assert ds.n_users == 300 and per_user.min() >= 20 and per_user.max() <= 80
    assert len(ds.kg) / ds.n_items == pytest.approx(9.9, abs=1.0)  # KG grows with the items
    gt = pd.read_csv(tmp_path / "ground_truth.csv")
    assert gt["user"].nunique() == 300


def test_unique_strings_number_their_draws_past_the_capacity():
    rng = np.random.default_rng(0)
    out = _unique_strings(rng, 10, lambda r: f"n{int(r.integers(3))}", capacity=3)
    assert len(set(out)) == 10 and all(s.startswith("n") for s in out)


def test_bad_sizes_are_refused(capsys, tmp_path):
    with pytest.raises(ValueError, match="n_users"):
        SampleConfig.scaled(0)
    with pytest.raises(ValueError, match="n_items"):
        SampleConfig.scaled(1)
    assert main([str(tmp_path), "--users", "zero"]) == 2
    assert "--users" in capsys.readouterr().err
