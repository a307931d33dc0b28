"""Uploaded zips: every problem of a file listed by its name inside the zip, line and column;
a rejected upload leaves nothing behind."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.uploads import MAX_ERRORS_PER_FILE, extract_dataset_zip
from core.data import DataError

ITEMS = "item,title\nm1,A\nm2,B\nm3,C\n"
GOOD_INTER = "user,item,rating\nu1,m1,5\nu1,m2,4\nu2,m2,3\nu2,m3,1\n"


def _zip(files: dict[str, str], top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(top + name, text)
    return buf.getvalue()


def _left(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_every_error_of_a_file_is_listed_with_file_line_and_column(tmp_path):
    inter = "user,item,rating\nu1,m1,5\nu1,m9,4\nu2,m2,lots\nu2,m3\n,m1,2\n"
    data = _zip({"items.csv": ITEMS, "interactions.csv": inter}, top="mydata/")
    with pytest.raises(DataError) as info:
        extract_dataset_zip(data, "bad.zip", tmp_path / "uploads")
    msg = str(info.value)
    assert "bad.zip/mydata/interactions.csv, line 4, column 'rating': expected a number" in msg
    assert "bad.zip/mydata/interactions.csv, line 5: 2 fields, expected 3" in msg
    assert "bad.zip/mydata/interactions.csv, line 6, column 'user': expected a non-empty" in msg
    assert "bad.zip/mydata/interactions.csv, line 3, column 'item': item id 'm9'" in msg
    assert str(tmp_path) not in msg  # never the server's extraction path
    assert _left(tmp_path / "uploads") == []


def test_errors_are_capped_per_file(tmp_path):
    rows = "".join(f"u{i},m1,x{i}\n" for i in range(50))
    data = _zip({"items.csv": ITEMS, "interactions.csv": "user,item,rating\n" + rows})
    with pytest.raises(DataError) as info:
        extract_dataset_zip(data, "many.zip", tmp_path / "uploads")
    lines = str(info.value).splitlines()
    listed = [x for x in lines if "column 'rating'" in x]
    assert len(listed) == MAX_ERRORS_PER_FILE
    assert lines[-1] == f"... and {50 - MAX_ERRORS_PER_FILE} more problem(s) in this file"
    assert _left(tmp_path / "uploads") == []


def test_a_loader_error_names_the_file_inside_the_zip_and_leaves_nothing(tmp_path):
    items = "item,title\nm1,A\nm1,again\n"  # a duplicate id: found by the loader itself
    data = _zip({"items.csv": items, "interactions.csv": "user,item\nu1,m1\n"})
    with pytest.raises(DataError, match=r"dup\.zip/items\.csv, line 3") as info:
        extract_dataset_zip(data, "dup.zip", tmp_path / "uploads")
    assert str(tmp_path) not in str(info.value)
    assert _left(tmp_path / "uploads") == []


def test_a_good_upload_is_kept_once(tmp_path):
    data = _zip({"items.csv": ITEMS, "interactions.csv": GOOD_INTER})
    folder, ds = extract_dataset_zip(data, "good.zip", tmp_path / "uploads")
    again, _ = extract_dataset_zip(data, "good.zip", tmp_path / "uploads")
    assert folder == again and folder.is_dir() and ds.n_items == 3
    assert _left(tmp_path / "uploads") == [folder.name]  # no staging folder left
