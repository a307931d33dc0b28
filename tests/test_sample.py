"""The committed sample dataset: reproducible from its generator, within spec, and loadable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import SAMPLE_DIR, load_dataset
from core.data.sample import FILES, RELATIONS, SampleConfig, write_sample

SMALL = SampleConfig(n_users=40, n_items=200, n_directors=20, n_actors=80)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out)
    return out


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    names = ("interactions", "items", "kg", "entities", "ground_truth")
    return {n: pd.read_csv(SAMPLE_DIR / f"{n}.csv", keep_default_na=False) for n in names}


@pytest.fixture(scope="module")
def linked(tables) -> pd.Series:
    """Per interaction: is its item linked (by the relation given) to one of its user's drivers."""
    kg, gt = tables["kg"], tables["ground_truth"]
    pairs = kg.merge(gt, left_on=["relation", "tail"], right_on=["relation", "driver"])
    keys = set(zip(pairs["user"], pairs["head"], strict=True))
    inter = tables["interactions"]
    return pd.Series(
        [(u, i) in keys for u, i in zip(inter["user"], inter["item"], strict=True)],
        index=inter.index,
    )


def test_committed_files_are_exactly_the_generator_output(regenerated):
    # models/: the bundled first-launch artifacts (tests/store/test_workspace.py checks them)
    assert sorted(p.name for p in SAMPLE_DIR.iterdir() if p.name != "models") == sorted(FILES)
    for name in FILES:
        assert (regenerated / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


def test_generator_is_deterministic_and_seeded(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_sample(a, SMALL)
    write_sample(b, SMALL)
    write_sample(c, replace(SMALL, seed=SMALL.seed + 1))
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "interactions.csv").read_bytes() != (c / "interactions.csv").read_bytes()


def test_committed_size_is_small():
    total = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir())
    assert total <= 5 * 1024 * 1024


def test_sizes_within_spec(tables):
    inter, items, kg = tables["interactions"], tables["items"], tables["kg"]
    assert inter["user"].nunique() == 1000
    assert len(items) == 1500 and items["item"].is_unique and items["title"].is_unique
    assert set(kg["relation"]) == set(RELATIONS) and len(RELATIONS) >= 5
    assert len(kg) >= 8000 and not kg.duplicated().any()
    assert set(kg["head"]) == set(items["item"])  # items are the heads, all of them
    per_user = inter.groupby("user").size()
    assert per_user.min() >= 20 and per_user.max() <= 80
    assert per_user.median() < per_user.mean()  # long tail of heavy users
    assert not inter.duplicated(["user", "item"]).any()
    assert inter["rating"].between(1, 5).all()


def test_each_item_has_the_planned_kg_links(tables):
    per = tables["kg"].groupby(["head", "relation"]).size().unstack(fill_value=0)
    for rel, (lo, hi) in {"genre": (1, 3), "starring": (3, 5), "directed_by": (1, 1)}.items():
        assert per[rel].between(lo, hi).all(), rel
    for rel in ("decade", "studio", "country"):
        assert (per[rel] == 1).all(), rel
    tails = tables["kg"].groupby("relation")["tail"].nunique()
    assert tails["directed_by"] == 150 and 20 <= tails["genre"] <= 40
    assert 18 <= tails["studio"] <= 20 and 10 <= tails["country"] <= 15


def test_entities_have_display_names(tables):
    kg, ent = tables["kg"], tables["entities"]
    assert set(ent["entity"]) == set(kg["tail"])
    assert (ent["entity"].str.split(":", n=1).str[1] == ent["name"]).all()


def test_timestamps_increase_within_each_user(tables):
    inter = tables["interactions"]
    step = inter.groupby("user")["timestamp"].diff().dropna()
    assert (step > 0).all()


def test_every_user_has_one_to_three_drivers_that_exist_in_the_kg(tables):
    gt, kg = tables["ground_truth"], tables["kg"]
    per_user = gt.groupby("user").size()
    assert set(per_user.index) == set(tables["interactions"]["user"])
    assert per_user.between(1, 3).all() and (per_user == 1).any() and (per_user == 3).any()
    known = set(zip(kg["relation"], kg["tail"], strict=True))
    assert all(k in known for k in zip(gt["relation"], gt["driver"], strict=True))
    assert set(gt["relation"]) <= {"directed_by", "starring", "studio", "genre"}
    assert gt["relation"].isin(["directed_by", "starring"]).mean() > 0.5  # mostly specific


def test_most_interactions_touch_a_driver_but_not_all(tables, linked):
    share = linked.groupby(tables["interactions"]["user"]).mean()
    assert 0.72 <= linked.mean() <= 0.85
    assert share.median() >= 0.7 and (share >= 0.4).all()
    assert (share < 1.0).mean() > 0.9  # popularity noise is present for almost everyone
    rating = tables["interactions"]["rating"]
    assert rating[linked].mean() > rating[~linked].mean() + 0.5  # driver items rated higher


def test_readme_states_the_counts_and_the_command(tables):
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "python -m core.data.sample sample_data" in text
    row = f"| 1000 | 1500 | {len(tables['interactions'])} |"
    assert row in text and str(len(tables["kg"])) in text


def test_load_dataset_reads_the_sample(tables):
    ds = load_dataset("sample")
    assert (ds.n_users, ds.n_items) == (1000, 1500)
    assert len(ds.interactions) == len(tables["interactions"])
    assert len(ds.kg) == len(tables["kg"]) and set(ds.relation_names) == set(RELATIONS)
    assert ds.n_entities == 1500 + len(tables["entities"])
    assert ds.entity_ids.raw[:1500] == tuple(tables["items"]["item"])
    some = tables["entities"].iloc[7]
    assert ds.entity_names[ds.entity_ids.to_internal(some["entity"])] == some["name"]
    assert ds.report.dropped == {}
    # Item i is entity i: every KG head is an item id.
    assert np.asarray(ds.kg["head"]).max() < ds.n_items
