"""Each non-CSV loader on a tiny hand-written folder, with counts checked by hand."""

from pathlib import Path

import pytest

from core.data import DataError, detect_format, load_dataset, split_dataset


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


GENRES = "unknown|0\nAction|1\nComedy|2\n\n"
ML100K = {
    "u.genre": GENRES,
    # Latin-1 title, as in GroupLens' files
    "u.item": "1|Toy (1995)|01-Jan-1995||url|0|0|1\n2|Misérables (1998)|01-Jan-1998||u|0|1|1\n"
    "3|unknown||||1|0|0\n".encode("latin-1"),
    "u.user": "1|24|M|tech|85711\n2|53|F|other|94043\n",
    "u.data": "2\t1\t4\t900\n1\t2\t5\t800\n1\t3\t1\t700\n",
}


def test_movielens_100k_genres_years_and_users(tmp_path):
    folder = write(tmp_path / "ml", ML100K)
    assert detect_format(folder) == "movielens"
    ds = load_dataset(folder)
    assert (ds.n_users, ds.n_items, len(ds.interactions)) == (2, 3, 3)
    assert ds.user_ids.raw == ("1", "2") and ds.interactions["user"].tolist() == [1, 0, 0]
    assert ds.relation_names == ("genre", "release_year", "decade")
    # genres: 1-Comedy, 2-Action, 2-Comedy, 3-unknown; years 1995, 1998; decade 1990s twice
    assert len(ds.kg) == 4 + 2 + 2
    assert set(ds.entity_names[3:]) == {"Comedy", "Action", "unknown", "1995", "1998", "1990s"}
    assert ds.title(1) == "Misérables (1998)"
    assert any("Latin-1" in n for n in ds.report.notes)
    assert ds.users["occupation"].tolist() == ["tech", "other"]


def test_movielens_1m_double_colon_files(tmp_path):
    folder = write(
        tmp_path / "ml1m",
        {
            "movies.dat": "10::Heat (1995)::Action|Crime|Thriller\n20::Up (2009)::Animation\n",
            "ratings.dat": "5::20::4::978300760\n5::10::3::978302109\n6::10::5::978301968\n",
            "users.dat": "5::F::1::10::48067\n6::M::56::16::70072\n",
        },
    )
    ds = load_dataset(folder)
    assert (ds.n_users, ds.n_items, len(ds.interactions)) == (2, 2, 3)
    assert ds.interactions["item"].tolist() == [1, 0, 0]
    assert len(ds.kg) == 4 + 2 + 2 and ds.n_entities == 2 + 4 + 2 + 2  # genres, years, decades


def test_kgat_given_split_dedupes_lines_and_keeps_ids(tmp_path):
    folder = write(
        tmp_path / "kgat",
        {
            "train.txt": "0 0 1 1 1\n1 2\n",  # item 1 repeated twice on user 0's line
            "test.txt": "0 2\n1\n",  # user 1 has no test item
            "kg_final.txt": "0 0 3\n2 1 3\n3 0 4\n0 0 3\n",
            "relation_list.txt": "org_id remap_id\nhttp://x/a b 0\nrel.b 1\n",
        },
    )
    ds = load_dataset(folder)
    assert (ds.n_users, ds.n_items, ds.n_entities, ds.n_relations) == (2, 3, 5, 2)
    assert ds.report.dropped["train.txt: item repeated for the same user, kept once"] == 2
    assert ds.report.dropped["kg_final.txt: repeated triple"] == 1
    assert ds.interactions["split"].tolist() == ["train", "train", "train", "test"]
    assert ds.relation_names == ("http://x/a b", "rel.b")
    assert ds.entity_ids.raw == ("0", "1", "2", "3", "4")
    s = split_dataset(ds)
    assert s.method == "given" and s.test.tolist() == [[0, 2]]


def test_kgat_without_kg_has_only_item_entities(tmp_path):
    ds = load_dataset(write(tmp_path / "ab", {"train.txt": "0 0 1\n", "test.txt": "0 2\n"}))
    assert ds.n_entities == ds.n_items == 3 and len(ds.kg) == 0
    assert any("no kg_final.txt" in n for n in ds.report.notes)


RECBOLE = {
    "toy.item": "item_id:token\tmovie_title:token_seq\n7\tSeven\n8\tEight\n9\tNine\n",
    "toy.kg": "head_id:token\trelation_id:token\ttail_id:token\n"
    "m.a\tfilm.genre\tm.g\nm.g\tgenre.films\tm.a\nm.b\tfilm.genre\tm.g\nm.g\tsub\tm.h\n",
    "toy.link": "item_id:token\tentity_id:token\n7\tm.a\n8\tm.b\n",
}


def test_recbole_link_maps_entities_onto_items(tmp_path):
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + (
        "u1\t7\t4\t10\nu2\t8\t3\t20\nu1\t9\t5\t30\n"
    )
    ds = load_dataset(write(tmp_path / "toy", {**RECBOLE, "toy.inter": inter}))
    assert ds.entity_ids.raw == ("7", "8", "9", "m.g", "m.h")
    assert ds.kg.to_numpy().tolist() == [[0, 0, 3], [3, 1, 0], [1, 0, 3], [3, 2, 4]]
    assert ds.title(2) == "Nine" and not ds.has_given_split
    assert ds.interactions["timestamp"].tolist() == [10, 20, 30]


def test_recbole_benchmark_files_are_kept_as_given(tmp_path):
    head = "user_id:token\titem_id:token\n"
    files = {
        **RECBOLE,
        "toy.train.inter": head + "u1\t7\nu2\t8\n",
        "toy.valid.inter": head + "u1\t8\n",
        "toy.test.inter": head + "u1\t9\nu2\t7\n",
    }
    ds = load_dataset(write(tmp_path / "toy", files), format="recbole")
    s = split_dataset(ds)
    assert s.method == "given"
    assert (s.train.tolist(), s.valid.tolist(), s.test.tolist()) == (
        [[0, 0], [1, 1]],
        [[0, 1]],
        [[0, 2], [1, 0]],
    )


def test_kgcn_unlinked_artists_stay_items(tmp_path):
    folder = write(
        tmp_path / "lfm",
        {
            "user_artists.dat": "userID\tartistID\tweight\n2\t51\t100\n2\t7\t5\n3\t51\t9\n",
            "item_index2entity_id.txt": "51\t0\r\n",
            "kg.txt": "0\tmusic.artist.origin\t1\r\n1\tlocation.contains\t2\r\n",
        },
    )
    ds = load_dataset(folder)
    assert ds.item_ids.raw == ("7", "51")  # numeric order, unlinked artist 7 kept
    assert ds.entity_ids.raw == ("7", "51", "kg:1", "kg:2")
    assert ds.kg.to_numpy().tolist() == [[1, 0, 2], [2, 1, 3]]
    assert ds.interactions["rating"].tolist() == [100.0, 5.0, 9.0]
    assert any("1 artist(s) have no KG link" in n for n in ds.report.notes)


@pytest.mark.parametrize("fmt", ["csv", "kgat"])
def test_format_override_reports_missing_marker_file(tmp_path, fmt):
    folder = write(tmp_path / "x", ML100K)
    with pytest.raises(DataError, match="file not found"):
        load_dataset(folder, format=fmt)
