"""RecBole's id order and split rebuilt from atomic files (core.data.recbole_ids / _split).

The real-data check (equal to RecBole 1.2.1's own ids and split on ml-100k, BPR and KGAT) is the
slow parity test, tests/store/test_recbole_parity.py; these cases are computed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.data import load_dataset
from core.data.errors import DataError
from core.data.recbole_ids import recbole_ids
from core.data.recbole_split import _counts, recbole_split
from tests.store.recbole_folder import SETTINGS, first_seen, write_folder


def _raw(ds, ids, what):
    idmap = ds.user_ids if what == "user" else ds.item_ids
    index = ids.users if what == "user" else ids.items
    return ["[PAD]"] + [idmap.raw[k] for k in index[1:]]


def test_ids_follow_first_appearance_in_inter_not_the_item_file(tmp_path):
    folder = write_folder(tmp_path)
    ds = load_dataset(folder, "recbole")
    ids = recbole_ids(ds, folder, SETTINGS, knowledge=False)
    assert _raw(ds, ids, "user") == ["[PAD]", *first_seen(folder, 0)]
    assert _raw(ds, ids, "item") == ["[PAD]", *first_seen(folder, 1)]
    assert list(ds.item_ids.raw) != first_seen(folder, 1)  # the two orders do differ here
    assert np.array_equal(ids.rows, np.arange(len(ds.interactions)))


def test_loading_the_item_file_appends_its_unseen_items(tmp_path):
    folder = write_folder(tmp_path)
    ds = load_dataset(folder, "recbole")
    settings = {**SETTINGS, "load_col": {"inter": ["user_id", "item_id"], "item": ["item_id"]}}
    ids = recbole_ids(ds, folder, settings, knowledge=False)
    seen = first_seen(folder, 1)
    unseen = [i for i in ds.item_ids.raw if i not in seen]
    assert _raw(ds, ids, "item") == ["[PAD]", *seen, *unseen]


def test_knowledge_models_drop_unlinked_items_and_put_linked_ones_last(tmp_path):
    folder = write_folder(tmp_path, kg=True)
    ds = load_dataset(folder, "recbole")
    ids = recbole_ids(ds, folder, SETTINGS, knowledge=True)
    linked = {f"i{k}" for k in range(8)}  # linked (i0..i8) and present in .kg (i0..i7)
    items = ds.item_ids.raw
    kept = ds.interactions["item"].to_numpy()[ids.rows]
    assert {items[i] for i in kept} <= linked
    dropped = ~np.isin(np.arange(len(ds.interactions)), ids.rows)
    assert all(items[i] not in linked for i in ds.interactions["item"].to_numpy()[dropped])
    assert set(_raw(ds, ids, "item")[1:]) == {items[i] for i in kept}
    assert "without a KG link" in ids.notes[0]


@pytest.mark.parametrize(
    ("total", "expected"), [(10, [8, 1, 1]), (3, [1, 1, 1]), (2, [1, 0, 1]), (1, [1, 0, 0])]
)
def test_split_counts_follow_recboles_rounding(total, expected):
    assert _counts(total, [0.8, 0.1, 0.1]) == expected


def test_random_split_is_per_user_and_seeded_like_torch_randperm(tmp_path):
    folder = write_folder(tmp_path)
    ds = load_dataset(folder, "recbole")
    split = recbole_split(ds, folder, SETTINGS, knowledge=False)
    counts = np.bincount(ds.interactions["user"], minlength=ds.n_users)
    for part, k in ((split.valid, 1), (split.test, 2)):
        per_user = np.bincount(part[:, 0], minlength=ds.n_users)
        assert np.array_equal(per_user, [_counts(int(n), [0.8, 0.1, 0.1])[k] for n in counts])
    again = recbole_split(ds, folder, {**SETTINGS, "seed": 1}, knowledge=False)
    assert not np.array_equal(split.test, again.test)
    assert len(split.train) + len(split.valid) + len(split.test) == len(ds.interactions)


def test_leave_one_out_by_time_takes_each_users_last_rows(tmp_path):
    folder = write_folder(tmp_path)
    ds = load_dataset(folder, "recbole")
    settings = {**SETTINGS, "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO"}}
    split = recbole_split(ds, folder, settings, knowledge=False)
    inter = ds.interactions
    last = inter.sort_values("timestamp").groupby("user").tail(1)[["user", "item"]].to_numpy()
    assert sorted(map(tuple, split.test)) == sorted(map(tuple, last))


def test_settings_it_cannot_rebuild_are_refused_by_name(tmp_path):
    folder = write_folder(tmp_path)
    ds = load_dataset(folder, "recbole")
    with pytest.raises(DataError, match="user_inter_num_interval='\\[5,inf\\)'"):
        recbole_ids(ds, folder, {**SETTINGS, "user_inter_num_interval": "[5,inf)"}, False)
