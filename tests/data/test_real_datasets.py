"""The real datasets in <repo>/../shared/datasets load with the counts in that folder's README."""

import time
from pathlib import Path

import numpy as np
import pytest

from core.data import load_dataset, split_dataset

pytestmark = pytest.mark.slow

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def dataset(name: str) -> Path:
    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder


def items_in_kg(ds) -> np.ndarray:
    ends = np.concatenate([ds.kg["head"].to_numpy(), ds.kg["tail"].to_numpy()])
    return np.unique(ends[ends < ds.n_items])


def test_ml_100k():
    ds = load_dataset(dataset("ml-100k"))
    s = ds.stats()
    assert (s["users"], s["items"], s["interactions"]) == (943, 1682, 100000)
    counts = ds.interactions["rating"].value_counts().sort_index().tolist()
    assert counts == [6110, 11370, 27145, 34174, 21201]  # README's per-rating counts
    assert ds.users is not None and len(ds.users) == 943
    assert ds.relation_names == ("genre", "release_year", "decade")
    assert len(items_in_kg(ds)) == 1682  # every movie has at least one genre
    assert ds.report.dropped == {}
    loo = split_dataset(ds, "leave-one-out")
    assert len(loo.test) == len(loo.valid) == 943  # every ml-100k user has >= 20 ratings


def test_ml_100k_recbole_kg():
    ds = load_dataset(dataset("ml-100k-recbole-kg"))
    assert (ds.n_users, ds.n_items, len(ds.interactions)) == (943, 1682, 100000)
    assert (len(ds.kg), ds.n_relations) == (91631, 24)
    # README: 34,628 KG entities of which 1,598 are linked items; the other 84 items have no
    # entity, so n_entities = 1,682 items + (34,628 - 1,598) non-item entities.
    assert ds.n_entities == 1682 + 34628 - 1598
    assert len(items_in_kg(ds)) == 1598
    assert ds.report.rows_kept["ml-100k.link"] == 1598
    # same interactions as the raw GroupLens files, compared by raw ids
    raw = load_dataset(dataset("ml-100k"))
    assert raw_pairs(ds) == raw_pairs(raw)


def raw_pairs(ds) -> set[str]:
    users = np.asarray(ds.user_ids.raw, dtype=object)[ds.interactions["user"].to_numpy()]
    items = np.asarray(ds.item_ids.raw, dtype=object)[ds.interactions["item"].to_numpy()]
    return set(users + " " + items)


def test_lastfm_kgcn():
    ds = load_dataset(dataset("lastfm-kgcn"))
    assert (ds.n_users, ds.n_items, len(ds.interactions)) == (1892, 17632, 92834)
    assert (len(ds.kg), ds.n_relations) == (15518, 60)
    # README: 9,366 KG entities, 3,846 of them artists; unlinked artists stay items (no edges)
    assert ds.n_entities == 17632 + 9366 - 3846
    linked = items_in_kg(ds)
    assert len(linked) == 3846
    on_kg = ds.interactions["item"].isin(linked)
    assert (on_kg.sum(), ds.interactions.loc[on_kg, "user"].nunique()) == (21173, 1872)


def test_kgat_amazon_book():
    start = time.perf_counter()
    ds = load_dataset(dataset("kgat-amazon-book"))
    seconds = time.perf_counter() - start
    assert (ds.n_users, ds.n_items) == (70679, 24915)
    counts = ds.interactions["split"].value_counts()
    assert (counts["train"], counts["test"]) == (652514, 193920)
    assert len(ds.kg) == 0 and ds.n_entities == ds.n_items
    assert any("88 user line(s) list no item" in n for n in ds.report.notes)
    assert ds.title(0) == "0553092626"  # item_list.txt org_id
    assert seconds < 20, f"amazon-book took {seconds:.1f}s to load"
    s = split_dataset(ds)
    assert len(s.test) == 193920 and len(s.train) + len(s.valid) == 652514
    assert s.report["users_without_train"] == 0


def test_incomplete_kgat_last_fm_is_a_clear_error():
    from core.data import DataError

    with pytest.raises(DataError, match="train.txt: file not found"):
        load_dataset(dataset("kgat-last-fm"))


def test_kgat_last_fm_kg_and_repeated_tokens(tmp_path):
    """last-fm lacks train.txt; its test.txt stands in (via links) to check the KG and dedupe."""
    src = dataset("kgat-last-fm")
    for name in ("test.txt", "kg_final.txt", "user_list.txt", "item_list.txt", "entity_list.txt"):
        (tmp_path / name).symlink_to(src / name)
    (tmp_path / "relation_list.txt").symlink_to(src / "relation_list.txt")
    (tmp_path / "train.txt").symlink_to(src / "test.txt")
    ds = load_dataset(tmp_path, format="kgat")
    assert (ds.n_users, ds.n_items) == (23566, 48123)
    assert (len(ds.kg), ds.n_relations, ds.n_entities) == (464567, 9, 106389)
    assert ds.report.rows_read["test.txt"] == 616336  # item tokens
    assert ds.report.rows_kept["test.txt"] == 423635  # distinct (user, item) pairs
    per_relation = ds.kg["relation"].value_counts().sort_index().tolist()
    assert per_relation == [66708, 271029, 67890, 17714, 32397, 3431, 515, 3383, 1500]
    assert ds.entity_names[ds.n_items].startswith("m.")  # Freebase id from entity_list.txt
