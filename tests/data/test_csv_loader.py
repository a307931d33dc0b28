"""CSV folder loader on a hand-made 3-user, 4-item dataset with a 2-hop KG."""

from pathlib import Path

import numpy as np
import pytest

from core.data import SAMPLE_DIR, DataError, load_dataset

FILES = {
    "items.csv": (
        'item,title,year\ni1,Alpha,1990\ni2,"Beta, The",1991\ni3,Gamma,1992\ni4,Delta,1993\n'
    ),
    "interactions.csv": (
        "user,item,rating,timestamp\n"
        "u2,i1,5,100\n"
        "u1,i2,3,200\n"
        "u1,i3,4,150\n"
        "u3,i4,1,300\n"
        "u2,i1,2,400\n"  # repeated pair: dropped and counted
        "u3,i2,5,50\n"
    ),
    "kg.csv": (
        "head,relation,tail\n"
        "i1,genre,Drama\n"
        "i2,genre,Drama\n"
        "i3,director,Nolan\n"
        "Nolan,born_in,London\n"  # no item involved: fine, it is a second hop
        "i1,genre,Drama\n"  # repeated triple
    ),
    "entities.csv": "entity,name\nNolan,Christopher Nolan\nGhost,Nobody\n",
}


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def ds(tmp_path):
    return load_dataset(write_folder(tmp_path / "tiny", FILES))


def test_ids_are_contiguous_in_first_seen_and_file_order(ds):
    assert ds.user_ids.raw == ("u2", "u1", "u3")
    assert ds.item_ids.raw == ("i1", "i2", "i3", "i4")
    assert ds.interactions["user"].tolist() == [0, 1, 1, 2, 2]
    assert ds.interactions["item"].tolist() == [0, 1, 2, 3, 1]
    assert ds.interactions["timestamp"].tolist() == [100, 200, 150, 300, 50]
    assert ds.interactions["rating"].dtype == np.float64


def test_item_i_is_entity_i_and_other_entities_follow(ds):
    assert ds.entity_ids.raw[: ds.n_items] == ds.item_ids.raw
    assert ds.entity_ids.raw[4:] == ("Drama", "Nolan", "London")
    assert ds.entity_names[:4] == ("Alpha", "Beta, The", "Gamma", "Delta")
    assert ds.entity_names[4:] == ("Drama", "Christopher Nolan", "London")
    assert ds.relation_names == ("genre", "director", "born_in")
    triples = ds.kg[["head", "relation", "tail"]].to_numpy().tolist()
    assert triples == [[0, 0, 4], [1, 0, 4], [2, 1, 5], [5, 2, 6]]


def test_report_counts_every_drop(ds):
    assert ds.report.rows_read["interactions.csv"] == 6
    assert ds.report.rows_kept["interactions.csv"] == 5
    assert ds.report.dropped["interactions.csv: repeated (user, item) pair, first kept"] == 1
    assert ds.report.dropped["kg.csv: repeated triple"] == 1
    assert any("entities.csv" in n for n in ds.report.notes)  # 'Ghost' names no entity


def test_stats_and_items_table(ds):
    stats = ds.stats()
    assert (stats["users"], stats["items"], stats["interactions"]) == (3, 4, 5)
    assert (stats["entities"], stats["relations"], stats["triples"]) == (7, 3, 4)
    assert stats["sparsity"] == pytest.approx(1 - 5 / 12)
    assert ds.title(1) == "Beta, The"
    assert ds.items["year"].tolist() == ["1990", "1991", "1992", "1993"]


def test_users_csv_fixes_user_order(tmp_path):
    files = dict(FILES, **{"users.csv": "user,age\nu1,30\nu2,40\nu3,50\nu4,60\n"})
    ds = load_dataset(write_folder(tmp_path / "u", files))
    assert ds.user_ids.raw == ("u1", "u2", "u3", "u4")
    assert ds.users["age"].tolist() == ["30", "40", "50", "60"]
    assert ds.interactions["user"].tolist()[:2] == [1, 0]


def test_implicit_threshold_drops_low_ratings_and_reports(tmp_path):
    ds = load_dataset(write_folder(tmp_path / "t", FILES), implicit_threshold=4)
    assert ds.interactions["rating"].tolist() == [5.0, 4.0, 5.0]
    assert ds.report.dropped["interactions: rating below implicit threshold 4"] == 2
    assert ds.n_users == 3  # ids stay stable


def test_without_kg_there_are_only_item_entities(tmp_path):
    files = {k: v for k, v in FILES.items() if k in ("items.csv", "interactions.csv")}
    ds = load_dataset(write_folder(tmp_path / "nokg", files), format="csv")
    assert ds.n_entities == ds.n_items == 4
    assert len(ds.kg) == 0 and ds.n_relations == 0


@pytest.mark.skipif(not (SAMPLE_DIR / "interactions.csv").is_file(), reason="no sample data yet")
def test_sample_word_loads_the_bundled_sample():
    ds = load_dataset("sample")
    assert ds.n_users > 0 and ds.n_items > 0 and len(ds.kg) > 0
    assert ds.entity_ids.raw[: ds.n_items] == ds.item_ids.raw


def test_unknown_item_is_a_data_error_naming_file_and_line(tmp_path):
    files = dict(FILES, **{"interactions.csv": "user,item\nu1,i1\nu1,nope\n"})
    with pytest.raises(DataError, match=r"interactions.csv, line 3, column 'item'.*'nope'"):
        load_dataset(write_folder(tmp_path / "bad", files))
