"""Splits on hand-built interaction tables whose answers can be counted by hand."""

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, Dataset, IdMap, split_dataset


def make_ds(users, items, timestamps=None, split=None, n_users=None) -> Dataset:
    inter = pd.DataFrame({"user": users, "item": items}).astype(np.int64)
    if timestamps is not None:
        inter["timestamp"] = np.asarray(timestamps, dtype=np.int64)
    if split is not None:
        inter["split"] = split
    n_items = max(items) + 1
    n_users = n_users or max(users) + 1
    empty = pd.DataFrame({c: np.zeros(0, np.int64) for c in ("head", "relation", "tail")})
    return Dataset(
        name="toy",
        interactions=inter,
        items=pd.DataFrame({"title": [f"t{i}" for i in range(n_items)]}),
        kg=empty,
        user_ids=IdMap(tuple(str(u) for u in range(n_users))),
        item_ids=IdMap(tuple(str(i) for i in range(n_items))),
        entity_ids=IdMap(tuple(str(i) for i in range(n_items))),
        entity_names=tuple(f"t{i}" for i in range(n_items)),
        relation_names=(),
    )


def test_random_split_sizes_per_user():
    # user 0: 10 interactions -> 8/1/1; user 1: 5 -> floor(0.5)=0 valid, 0 test -> 5/0/0
    ds = make_ds([0] * 10 + [1] * 5, list(range(10)) + list(range(5)))
    s = split_dataset(ds, "random", seed=1)
    assert (len(s.train), len(s.valid), len(s.test)) == (13, 1, 1)
    assert s.valid[0, 0] == 0 and s.test[0, 0] == 0
    all_pairs = np.vstack([s.train, s.valid, s.test])
    assert sorted(map(tuple, all_pairs)) == sorted(
        zip(ds.interactions.user, ds.interactions.item, strict=True)
    )
    assert s.train.dtype == np.int64 and s.train.shape[1] == 2


def test_random_split_is_reproducible_and_seed_dependent():
    ds = make_ds(
        [u for u in range(20) for _ in range(20)], [i for _ in range(20) for i in range(20)]
    )
    a, b = split_dataset(ds, seed=7), split_dataset(ds, seed=7)
    c = split_dataset(ds, seed=8)
    assert np.array_equal(a.test, b.test) and np.array_equal(a.valid, b.valid)
    assert not np.array_equal(a.test, c.test)
    assert (len(a.train), len(a.valid), len(a.test)) == (320, 40, 40)


def test_leave_one_out_picks_latest_timestamps():
    # user 0: items 0..3 at times 30, 10, 40, 20 -> test item 2 (t=40), valid item 0 (t=30)
    # user 1: 2 interactions -> train 1, test 1, no valid; user 2: 1 interaction -> train only
    ds = make_ds([0, 0, 0, 0, 1, 1, 2], [0, 1, 2, 3, 4, 5, 6], timestamps=[30, 10, 40, 20, 5, 9, 1])
    s = split_dataset(ds, "leave-one-out")
    assert s.test.tolist() == [[0, 2], [1, 5]]
    assert s.valid.tolist() == [[0, 0]]
    assert s.train.tolist() == [[0, 1], [0, 3], [1, 4], [2, 6]]


def test_leave_one_out_without_timestamps_is_a_data_error():
    with pytest.raises(DataError, match="timestamp"):
        split_dataset(make_ds([0, 0], [0, 1]), "leave-one-out")


def test_given_split_is_kept_and_users_without_train_are_reported():
    split = ["train", "train", "test", "test", "test"]
    ds = make_ds([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], split=split)
    s = split_dataset(ds)  # None -> given
    assert s.method == "given"
    assert s.test.tolist() == [[0, 2]]  # user 1 has no train: removed and counted
    assert s.report["users_without_train"] == 1 and s.report["dropped_test"] == 2


def test_given_without_valid_carves_seeded_ten_percent_of_train():
    users = [0] * 20 + [1] * 5 + [0]
    items = list(range(20)) + list(range(5)) + [25]
    ds = make_ds(users, items, split=["train"] * 25 + ["test"])
    s = split_dataset(ds, "given", seed=3)
    assert len(s.valid) == 2 and set(s.valid[:, 0]) == {0}  # floor(0.1*20)=2, floor(0.5)=0
    assert len(s.train) == 23 and s.test.tolist() == [[0, 25]]
    assert s.report["valid_carved_from_train"] == 2
    assert np.array_equal(s.valid, split_dataset(ds, "given", seed=3).valid)


def test_given_on_a_dataset_without_split_is_a_data_error():
    with pytest.raises(DataError, match="given"):
        split_dataset(make_ds([0], [0]), "given")
