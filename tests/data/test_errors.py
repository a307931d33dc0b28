"""Every kind of malformed input ends in a DataError naming file and line or column."""

from pathlib import Path

import pytest

from core.cli.main import main
from core.data import DataError, load_dataset

GOOD = {
    "items.csv": "item,title\ni1,Alpha\ni2,Beta\n",
    "interactions.csv": "user,item,rating\nu1,i1,5\nu2,i2,3\n",
}


def folder_with(tmp_path: Path, **overrides: str | bytes | None) -> Path:
    """GOOD files with some replaced (None removes a file); names use '_' for '.'."""
    files = dict(GOOD)
    for key, text in overrides.items():
        files[key.replace("_", ".")] = text
    for name, text in files.items():
        if text is not None:
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            (tmp_path / name).write_bytes(data)
    return tmp_path


def load_error(folder: Path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_dataset(folder, **kwargs)
    return info.value


def test_good_folder_loads(tmp_path):
    assert load_dataset(folder_with(tmp_path)).n_items == 2


def test_missing_file(tmp_path):
    err = load_error(folder_with(tmp_path, items_csv=None), format="csv")
    assert err.path.endswith("items.csv") and "not found" in str(err)


def test_missing_or_misnamed_column(tmp_path):
    err = load_error(folder_with(tmp_path, interactions_csv="usr,item\nu1,i1\n"))
    assert err.column == "user" and err.path.endswith("interactions.csv")
    assert "usr,item" in str(err)  # shows what was found


def test_empty_file(tmp_path):
    err = load_error(folder_with(tmp_path, items_csv=""))
    assert err.path.endswith("items.csv") and "empty" in str(err)


def test_header_only_file(tmp_path):
    err = load_error(folder_with(tmp_path, interactions_csv="user,item\n"))
    assert "no data rows" in str(err)


def test_non_numeric_rating(tmp_path):
    err = load_error(folder_with(tmp_path, interactions_csv="user,item,rating\nu1,i1,5\nu2,i2,x\n"))
    assert (err.line, err.column) == (3, "rating") and "'x'" in str(err)


def test_non_integer_timestamp(tmp_path):
    bad = "user,item,timestamp\nu1,i1,1.5\n"
    err = load_error(folder_with(tmp_path, interactions_csv=bad))
    assert (err.line, err.column) == (2, "timestamp") and "integer" in str(err)


def test_wrong_column_count(tmp_path):
    err = load_error(folder_with(tmp_path, items_csv="item,title\ni1,Alpha\ni2\n"))
    assert err.line == 3 and "expected 2 fields" in str(err) and "found 1" in str(err)


def test_unmappable_item_id(tmp_path):
    err = load_error(folder_with(tmp_path, interactions_csv="user,item\nu1,i1\nu1,i9\n"))
    assert (err.line, err.column) == (3, "item") and "'i9'" in str(err)


def test_repeated_item_id_in_items_table(tmp_path):
    err = load_error(folder_with(tmp_path, items_csv="item,title\ni1,A\ni2,B\ni1,C\n"))
    assert err.line == 4 and "more than once" in str(err)


def test_kg_referencing_no_known_item(tmp_path):
    err = load_error(folder_with(tmp_path, kg_csv="head,relation,tail\nx,r,y\ny,r,z\n"))
    assert err.path.endswith("kg.csv") and "KG references no known item" in str(err)


def test_undecodable_file(tmp_path):
    bad = "item,title\ni1,Alpha\ni2,Caf\xe9\n".encode("latin-1")
    err = load_error(folder_with(tmp_path, items_csv=bad))
    assert err.path.endswith("items.csv") and err.line == 3 and "utf-8" in str(err)


def test_folder_not_found_and_unknown_format(tmp_path):
    assert "not found" in str(load_error(tmp_path / "nope"))
    assert "unknown format" in str(load_error(folder_with(tmp_path), format="parquet"))
    (tmp_path / "empty").mkdir()
    assert "cannot tell the format" in str(load_error(tmp_path / "empty"))


def test_kgat_non_integer_token_and_out_of_range_item(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2\n1 x\n")
    (tmp_path / "test.txt").write_text("0 1\n")
    err = load_error(tmp_path)
    assert err.path.endswith("train.txt") and err.line == 2
    (tmp_path / "train.txt").write_text("0 0\n1 1\n")
    (tmp_path / "item_list.txt").write_text("org_id remap_id freebase_id\na 0 m.a\nb 1 m.b\n")
    (tmp_path / "test.txt").write_text("0 1\n1 5\n")
    err = load_error(tmp_path)
    assert err.path.endswith("test.txt") and err.line == 2 and "cannot be mapped" in str(err)


def test_kgat_kg_with_wrong_field_count(tmp_path):
    (tmp_path / "train.txt").write_text("0 0 1\n")
    (tmp_path / "test.txt").write_text("0 1\n")
    (tmp_path / "kg_final.txt").write_text("0 0 2\n1 0\n")
    err = load_error(tmp_path)
    assert err.path.endswith("kg_final.txt") and err.line == 2


def test_recbole_kg_without_link_file(tmp_path):
    (tmp_path / "t.inter").write_text("user_id:token\titem_id:token\nu\t1\n")
    (tmp_path / "t.kg").write_text("head_id:token\trelation_id:token\ttail_id:token\nm\tr\tn\n")
    err = load_error(tmp_path)
    assert err.path.endswith("t.link") and "not found" in str(err)


def test_implicit_threshold_without_ratings(tmp_path):
    folder = folder_with(tmp_path, interactions_csv="user,item\nu1,i1\n")
    assert load_error(folder, implicit_threshold=4).column == "rating"


def test_cli_stats_exits_2_with_one_line_message(tmp_path, capsys):
    folder = folder_with(tmp_path, interactions_csv="user,item\nu1,zz\n")
    assert main(["stats", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "interactions.csv, line 2, column 'item'" in err


def test_cli_stats_json(tmp_path, capsys):
    import json

    assert main(["stats", str(folder_with(tmp_path)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["users"], out["items"], out["interactions"], out["format"]) == (2, 2, 2, "csv")
    assert out["report"]["rows_read"]["interactions.csv"] == 2


def test_empty_id(tmp_path):
    err = load_error(folder_with(tmp_path, interactions_csv="user,item\nu1,i1\n,i2\n"))
    assert (err.line, err.column) == (3, "user") and "non-empty" in str(err)


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    items = "\ufeffitem,title\r\ni1,Alpha\r\ni2,Beta\r\n"
    assert load_dataset(folder_with(tmp_path, items_csv=items)).title(1) == "Beta"
