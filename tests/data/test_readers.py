"""Readers: S3Rec text + attributes, RecBole atomic files, generic tables."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.readers import recbole, s3rec, table
from graphrec.data.readers.recbole import read_recbole
from graphrec.data.readers.s3rec import read_s3rec, write_s3rec
from graphrec.data.readers.table import read_table
from graphrec.data.sources import add_filter_arguments, filters_from_args

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_TXT = FIXTURES / "s3rec" / "Tiny.txt"
TINY_ATTR = FIXTURES / "s3rec" / "Tiny_item2attributes.json"
TINY_RECBOLE = FIXTURES / "recbole" / "tiny"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _shared(folder: str) -> Path:
    path = SHARED / folder
    if not path.is_dir():
        pytest.skip(f"{path} not present (real data lives beside the checkout in shared/data)")
    return path


# ---------------------------------------------------------------------- S3Rec
def test_s3rec_tiny_hand_worked() -> None:
    ds = read_s3rec(TINY_TXT, TINY_ATTR)
    # file ids are 1..6 dense, so they are kept even though first appearance is 3, 1, 2, ...
    np.testing.assert_array_equal(ds.indptr, [0, 4, 7, 11])
    np.testing.assert_array_equal(ds.items, [3, 1, 2, 4, 2, 5, 3, 6, 1, 5, 2])
    assert ds.num_items == 6 and ds.user_names == ["1", "2", "3"]
    assert ds.item_names == ["1", "2", "3", "4", "5", "6"]
    # category = last attribute: 20, 21, 23, 20, 23, 12 -> numbered by first appearance over items 1..6
    np.testing.assert_array_equal(ds.item_category, [0, 1, 2, 3, 1, 3, 4])
    assert ds.category_names == ["20", "21", "23", "12"]
    # attributes 10,20 | 10,21 | 11,22,23 | 20 | 11,23 | 12
    # renumbered 10->1 20->2 21->3 11->4 22->5 23->6 12->7
    np.testing.assert_array_equal(ds.attr_indptr, [0, 0, 2, 4, 7, 8, 10, 11])
    np.testing.assert_array_equal(ds.attr_values, [1, 2, 1, 3, 4, 5, 6, 2, 4, 6, 7])
    assert ds.timestamps is None
    assert ds.meta["source"] == "s3rec" and ds.meta["item_ids"] == "file"
    assert ds.meta["num_attributes"] == 7 and ds.meta["filters"] == []
    inputs = ds.meta["inputs"]
    assert [Path(i["path"]).name for i in inputs] == ["Tiny.txt", "Tiny_item2attributes.json"]
    assert all(len(i["sha256"]) == 64 for i in inputs)


def test_s3rec_without_attributes_has_no_categories() -> None:
    ds = read_s3rec(TINY_TXT)
    assert not ds.has_categories and ds.attr_indptr is None
    assert len(ds.meta["inputs"]) == 1


def test_s3rec_filters_remap_non_dense_ids() -> None:
    # 2-core: every item appears at least twice except 4 and 6 -> those rows go, ids 1,2,3,5 remain
    ds = read_s3rec(TINY_TXT, TINY_ATTR, filters={"kcore_k": 2})
    assert ds.meta["filters"][0]["filter"] == "kcore"
    assert ds.meta["item_ids"].startswith("remapped")
    file_ids = np.array(ds.item_names, dtype=np.int64)
    np.testing.assert_array_equal(file_ids[ds.items - 1], [3, 1, 2, 2, 5, 3, 1, 5, 2])
    # categories follow the items: file item 3 has last attribute 23, file item 1 has 20
    names = np.array(ds.category_names)
    assert names[ds.item_category[1:] - 1].tolist() == ["23", "20", "21", "23"]  # file ids 3, 1, 2, 5


def test_s3rec_keeps_file_ids_after_a_filter_that_drops_a_user() -> None:
    ds = read_s3rec(TINY_TXT, TINY_ATTR, filters={"min_length": 4})
    assert ds.user_names == ["1", "3"] and ds.meta["item_ids"] == "file"
    np.testing.assert_array_equal(ds.items, [3, 1, 2, 4, 6, 1, 5, 2])


def test_s3rec_round_trip_tiny(tmp_path: Path) -> None:
    ds = read_s3rec(TINY_TXT, TINY_ATTR)
    txt, attr = write_s3rec(ds, tmp_path, "Tiny")
    assert txt.read_text() == TINY_TXT.read_text()
    back = read_s3rec(txt, attr)
    assert back.checksum() == ds.checksum()
    assert json.loads(attr.read_text())["3"] == [4, 5, 6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Tiny.txt", "Tiny_item2attributes.json"]


def test_s3rec_write_appends_category_when_it_is_not_the_last_attribute(tmp_path: Path) -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 3], [3, 1]], item_category=[0, 1, 2, 1])
    txt, attr = write_s3rec(ds, tmp_path, "Cat")
    assert txt.read_text() == "1 1 2 3\n2 3 1\n"
    assert json.loads(attr.read_text()) == {"1": [1], "2": [2], "3": [1]}
    back = read_s3rec(txt, attr)
    np.testing.assert_array_equal(back.items, ds.items)
    np.testing.assert_array_equal(back.item_category, ds.item_category)


@pytest.mark.parametrize(
    "folder, name, counts",
    [
        ("amazon-beauty", "Beauty", (22363, 12101, 198502, 195)),
        ("amazon-sports", "Sports_and_Outdoors", (35598, 18357, 296337, 959)),
    ],
)
def test_s3rec_real_data_counts_and_round_trip(
    folder: str, name: str, counts: tuple[int, int, int, int], tmp_path: Path
) -> None:
    path = _shared(folder)
    start = time.perf_counter()
    ds = read_s3rec(path / f"{name}.txt", path / f"{name}_item2attributes.json")
    elapsed = time.perf_counter() - start
    assert (ds.num_users, ds.num_items, ds.num_interactions, ds.num_categories) == counts
    assert ds.meta["item_ids"] == "file" and ds.lengths.min() >= 5
    assert elapsed < 10.0, f"reading {name} took {elapsed:.1f} s (about 0.5 s expected)"
    # item i of the file is item i of the dataset: the first line of each file is "1 1 2 3 ..."
    first = (path / f"{name}.txt").open().readline().split()
    np.testing.assert_array_equal(ds.sequence(0), np.array(first[1:], dtype=np.int64))
    txt, attr = write_s3rec(ds, tmp_path, name)
    assert read_s3rec(txt, attr).checksum() == ds.checksum()


def _s3rec_error(
    tmp_path: Path, text: str, attributes: dict[str, list[int]] | None = None
) -> DataFormatError:
    txt = _write(tmp_path / "Bad.txt", text)
    attr = None
    if attributes is not None:
        attr = _write(tmp_path / "Bad_item2attributes.json", json.dumps(attributes))
    with pytest.raises(DataFormatError) as info:
        read_s3rec(txt, attr)
    return info.value


def test_s3rec_errors(tmp_path: Path) -> None:
    err = _s3rec_error(tmp_path, "")
    assert err.line is None and "empty file" in str(err) and err.path.endswith("Bad.txt")
    err = _s3rec_error(tmp_path, "\n\n")
    assert "empty" in str(err)
    err = _s3rec_error(tmp_path, "1 1 2\n2 5 x 3\n")
    assert err.line == 2 and "'x'" in str(err) and "not an integer" in str(err)
    err = _s3rec_error(tmp_path, "1 1 2\n2 3.5\n")
    assert err.line == 2 and "'3.5'" in str(err)
    err = _s3rec_error(tmp_path, "1 1 2\n\n2 0 3\n")
    assert err.line == 3 and "0" in str(err) and "padding" in str(err)
    err = _s3rec_error(tmp_path, "1 1 2\n2\n")
    assert err.line == 2 and "no items" in str(err)
    err = _s3rec_error(tmp_path, "1 1 2\n2 2\n1 3\n")
    assert err.line == 3 and "line 1" in str(err)


def test_s3rec_attribute_file_must_match_items(tmp_path: Path) -> None:
    err = _s3rec_error(tmp_path, "1 1 2\n2 2 3\n", {"1": [5], "2": [6], "9": [7], "10": [7]})
    text = str(err)
    assert err.path.endswith("Bad_item2attributes.json")
    assert "1 items of the sequence file have no attribute entry (e.g. 3)" in text
    assert "2 attribute keys are not items of the sequence file (e.g. 9, 10)" in text


def test_s3rec_attribute_file_errors(tmp_path: Path) -> None:
    txt = _write(tmp_path / "A.txt", "1 1 2\n")
    bad_json = _write(tmp_path / "a.json", '{"1": [1],\n "2": [2')
    with pytest.raises(DataFormatError, match="not valid JSON") as info:
        read_s3rec(txt, bad_json)
    assert info.value.line == 2
    with pytest.raises(DataFormatError, match="'one' is not an integer item id"):
        read_s3rec(txt, _write(tmp_path / "b.json", '{"one": [1], "2": [2]}'))
    with pytest.raises(DataFormatError, match="JSON object"):
        read_s3rec(txt, _write(tmp_path / "c.json", "[[1], [2]]"))
    with pytest.raises(DataFormatError, match="other than a list"):
        read_s3rec(txt, _write(tmp_path / "d.json", '{"1": 3, "2": [2]}'))
    with pytest.raises(DataFormatError, match="empty file"):
        read_s3rec(txt, _write(tmp_path / "e.json", ""))


def test_s3rec_source_contract(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    s3rec.add_arguments(parser)
    add_filter_arguments(parser)
    args = parser.parse_args(["--input", str(TINY_TXT)])
    ds = s3rec.from_args(args, filters_from_args(args))
    assert ds.num_categories == 4  # attribute file found beside the input ("auto")
    args = parser.parse_args(["--input", str(TINY_TXT), "--attributes", "none", "--min-length", "4"])
    ds = s3rec.from_args(args, filters_from_args(args))
    assert not ds.has_categories and ds.num_users == 2
    assert s3rec.DESCRIPTION and "graphrec prepare s3rec" in s3rec.EXAMPLES


# ---------------------------------------------------------------------- RecBole
def test_recbole_tiny_hand_worked() -> None:
    ds = read_recbole(TINY_RECBOLE)
    # u1: (i1, 10), (i3, 10) in file order (stable tie), then (i2, 30); u2: (i1, 1), (i3, 5)
    assert ds.user_names == ["u1", "u2"] and ds.item_names == ["i1", "i3", "i2"]
    np.testing.assert_array_equal(ds.indptr, [0, 3, 5])
    np.testing.assert_array_equal(ds.items, [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(ds.timestamps, [10, 10, 30, 1, 5])
    # first genre: i1 Drama, i3 Horror, i2 Comedy
    np.testing.assert_array_equal(ds.item_category, [0, 1, 2, 3])
    assert ds.category_names == ["Drama", "Horror", "Comedy"]
    # all genres: i1 [Drama, Comedy], i3 [Horror, Drama], i2 [Comedy]
    np.testing.assert_array_equal(ds.attr_indptr, [0, 0, 2, 4, 5])
    np.testing.assert_array_equal(ds.attr_values, [1, 2, 3, 1, 2])
    assert ds.meta["source"] == "recbole" and len(ds.meta["inputs"]) == 2


def test_recbole_file_path_and_rating_filter() -> None:
    ds = read_recbole(TINY_RECBOLE / "tiny.inter", filters={"min_rating": 3})
    # kept: u1 i2 (4, t30), u1 i1 (5, t10), u2 i3 (3, t5)
    np.testing.assert_array_equal(ds.timestamps, [10, 30, 5])
    assert [ds.item_names[i - 1] for i in ds.items] == ["i1", "i2", "i3"]
    record = ds.meta["filters"][0]
    assert record["filter"] == "rating_threshold" and record["after"]["interactions"] == 3


def test_recbole_without_item_file(tmp_path: Path) -> None:
    inter = _write(tmp_path / "x.inter", "user_id:token\titem_id:token\n1\t5\n1\t6\n")
    ds = read_recbole(inter)
    assert ds.timestamps is None and not ds.has_categories
    np.testing.assert_array_equal(ds.items, [1, 2])


def test_recbole_missing_item_rows_get_category_zero(tmp_path: Path) -> None:
    _write(tmp_path / "x.inter", "user_id:token\titem_id:token\n1\t5\n1\t6\n")
    _write(tmp_path / "x.item", "item_id:token\tclass:token_seq\n5\tA B\n")
    ds = read_recbole(tmp_path)
    np.testing.assert_array_equal(ds.item_category, [0, 1, 0])
    assert ds.meta["items_without_category"] == 1


def test_recbole_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty file"):
        read_recbole(_write(tmp_path / "a.inter", ""))
    with pytest.raises(DataFormatError, match="unreadable header") as info:
        read_recbole(_write(tmp_path / "b.inter", "user_id\titem_id\n1\t2\n"))
    assert info.value.line == 1
    with pytest.raises(DataFormatError, match="unreadable header"):
        read_recbole(_write(tmp_path / "c.inter", "user_id:token\titem_id:int\n1\t2\n"))
    with pytest.raises(DataFormatError) as info:
        read_recbole(_write(tmp_path / "d.inter", "user_id:token\tproduct:token\n1\t2\n"))
    assert "no item column 'item_id'" in str(info.value)
    assert "columns found: ['user_id:token', 'product:token']" in str(info.value)
    with pytest.raises(DataFormatError, match="'yesterday' is not a number") as info:
        read_recbole(_write(tmp_path / "e.inter",
                            "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t5\n1\t3\tyesterday\n"))
    assert info.value.line == 3
    with pytest.raises(DataFormatError, match="no rows"):
        read_recbole(_write(tmp_path / "f.inter", "user_id:token\titem_id:token\n"))
    with pytest.raises(DataFormatError, match="do not match"):
        read_recbole(_write(tmp_path / "g.inter", "user_id:token\titem_id:token\n1\t2\n1\t2\t3\t4\n"))
    with pytest.raises(DataFormatError, match="expected one .inter"):
        read_recbole(tmp_path)


def test_recbole_ml100k() -> None:
    path = _shared("ml-100k")
    ds = read_recbole(path)
    assert (ds.num_users, ds.num_items, ds.num_interactions) == (943, 1682, 100000)
    assert ds.num_categories == 19 and ds.meta["num_attributes"] == 19
    assert ds.timestamps is not None
    users = np.repeat(np.arange(ds.num_users), ds.lengths)
    same_user = users[1:] == users[:-1]
    assert np.all(np.diff(ds.timestamps)[same_user] >= 0)


def test_recbole_source_contract() -> None:
    parser = argparse.ArgumentParser()
    recbole.add_arguments(parser)
    add_filter_arguments(parser)
    args = parser.parse_args(["--input", str(TINY_RECBOLE), "--kcore", "2"])
    ds = recbole.from_args(args, filters_from_args(args))
    assert ds.meta["filters"][0]["filter"] == "kcore"
    assert ds.num_interactions == 4  # i2 has one interaction and goes


# ---------------------------------------------------------------------- tables
def test_table_csv_with_dates_and_categories(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "log.csv",
        "uid,sku,when,cat,stars\n"
        "bob,s2,2024-01-02,shoes,4\n"
        "bob,s1,2024-01-01,socks,5\n"
        "amy,s2,2024-01-03,shoes,1\n",
    )
    ds = read_table(csv_path, user_col="uid", item_col="sku", time_col="when", category_col="cat",
                    rating_col="stars")
    assert ds.user_names == ["bob", "amy"] and ds.item_names == ["s1", "s2"]
    np.testing.assert_array_equal(ds.items, [1, 2, 2])
    np.testing.assert_array_equal(ds.timestamps[:2], [1704067200, 1704153600])
    assert [ds.category_names[c - 1] for c in ds.item_category[1:]] == ["socks", "shoes"]
    assert ds.meta["source"] == "table" and ds.meta["columns"]["user"] == "uid"
    filtered = read_table(csv_path, user_col="uid", item_col="sku", time_col="when", rating_col="stars",
                          filters={"min_rating": 4})
    assert filtered.num_users == 1


def test_table_tsv_and_file_order(tmp_path: Path) -> None:
    tsv = _write(tmp_path / "log.tsv", "user\titem\n1\t9\n1\t7\n2\t9\n")
    ds = read_table(tsv, time_col=None)
    np.testing.assert_array_equal(ds.items, [1, 2, 1])
    assert ds.timestamps is None


def test_table_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"user": [3, 3, 4], "item": [10, 11, 10], "timestamp": [2, 1, 5]})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    ds = read_table(path)
    np.testing.assert_array_equal(ds.items, [1, 2, 2])  # user 3: item 11 (t1), then 10 (t2)
    assert ds.item_names == ["11", "10"]


def test_table_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty file"):
        read_table(_write(tmp_path / "a.csv", ""))
    with pytest.raises(DataFormatError) as info:
        read_table(_write(tmp_path / "b.csv", "user,product,timestamp\n1,2,3\n"))
    assert "missing column(s) item='item'" in str(info.value)
    assert "columns found: ['user', 'product', 'timestamp']" in str(info.value)
    with pytest.raises(DataFormatError, match="time_col=None"):
        read_table(_write(tmp_path / "c.csv", "user,item\n1,2\n"))
    with pytest.raises(DataFormatError, match="holds 'often', not a number") as info:
        bad_rating = _write(tmp_path / "d.csv", "user,item,timestamp,r\n1,2,3,4\n1,3,4,often\n")
        read_table(bad_rating, rating_col="r")
    assert info.value.line == 3
    with pytest.raises(DataFormatError, match="neither a number nor a date") as info:
        read_table(_write(tmp_path / "e.csv", "user,item,timestamp\n1,2,soon\n"))
    assert info.value.line == 2
    with pytest.raises(DataFormatError, match="no rows"):
        read_table(_write(tmp_path / "f.csv", "user,item,timestamp\n"))
    with pytest.raises(DataFormatError, match="empty item id") as info:
        read_table(_write(tmp_path / "g.csv", "user,item,timestamp\n1,2,3\n1,,4\n"))
    assert info.value.line == 3
    with pytest.raises(DataFormatError, match="file not found"):
        read_table(tmp_path / "missing.csv")


def test_table_source_contract(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.csv", "u,i\n1,2\n1,3\n")
    parser = argparse.ArgumentParser()
    table.add_arguments(parser)
    add_filter_arguments(parser)
    args = parser.parse_args(
        ["--input", str(path), "--user-col", "u", "--item-col", "i", "--time-col", "none"]
    )
    ds = table.from_args(args, filters_from_args(args))
    assert ds.num_interactions == 2 and ds.timestamps is None


# ------------------------------------------------------------ numbers out of range
@pytest.mark.parametrize("value", ["1e30", "-1e19", "inf", "-inf", "99999999999999999999"])
@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_table_timestamp_out_of_range(tmp_path: Path, value: str, suffix: str) -> None:
    sep = "," if suffix == ".csv" else "\t"
    rows = ["user", "item", "timestamp"], ["a", "x", "1"], ["a", "y", value], ["b", "x", "3"]
    # a blank line before the bad row: the reported line is the file's, not the row's index + 2
    path = _write(tmp_path / f"t{suffix}", "\n".join(sep.join(r) for r in rows[:2]) + "\n\n"
                  + "\n".join(sep.join(r) for r in rows[2:]) + "\n")
    with pytest.raises(DataFormatError) as info:
        read_table(path)
    assert info.value.path == str(path) and info.value.line == 4 and repr(value) in str(info.value)
    assert "time column 'timestamp'" in str(info.value)


def test_table_rating_not_finite(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", 'user,item,rating\n"a","x",4\n"a","y",inf\n')
    with pytest.raises(DataFormatError, match="rating column 'rating': 'inf' is not a finite number") as info:
        read_table(path, time_col=None, rating_col="rating")
    assert info.value.line == 3


@pytest.mark.parametrize("column, value", [("timestamp", "1e30"), ("timestamp", "nan"), ("rating", "inf")])
def test_recbole_number_out_of_range(tmp_path: Path, column: str, value: str) -> None:
    cells = {"timestamp": "881250949", "rating": "3"}
    cells[column] = value
    path = _write(tmp_path / "x.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                  "1\t10\t4\t881250900\n\n"
                  f"1\t11\t{cells['rating']}\t{cells['timestamp']}\n")
    with pytest.raises(DataFormatError) as info:
        read_recbole(path)
    assert info.value.path == str(path) and info.value.line == 4 and repr(value) in str(info.value)


# ------------------------------------------------------------ S3Rec attribute values
@pytest.mark.parametrize("value, what", [
    ("null", "not an integer attribute id"),
    ("true", "not an integer attribute id"),
    ('"a"', "not an integer attribute id"),
    ("1.5", "not an integer attribute id"),
    ("[4, 5]", "a nested list"),
    ("99999999999999999999", "beyond the range"),
])
def test_s3rec_attribute_values_must_be_integer_ids(tmp_path: Path, value: str, what: str) -> None:
    txt = _write(tmp_path / "A.txt", "1 1 2 3\n")
    attributes = _write(tmp_path / "A_item2attributes.json", f'{{"1": [1], "2": [2], "3": [7, {value}]}}')
    with pytest.raises(DataFormatError) as info:
        read_s3rec(txt, attributes)
    text = str(info.value)
    assert info.value.path == str(attributes) and "item '3'" in text and value in text and what in text


# ------------------------------------------------------------ files as downloaded
def _compressed(path: Path, data: bytes, kind: str) -> Path:
    import bz2
    import gzip
    import zipfile

    if kind == "gz":
        out = path.with_name(path.name + ".gz")
        out.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        out = path.with_name(path.name + ".bz2")
        out.write_bytes(bz2.compress(data))
    else:
        out = path.with_name(path.name + ".zip")
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(path.name, data)
    return out


@pytest.mark.parametrize("kind", ["gz", "bz2", "zip"])
def test_readers_take_compressed_files_with_a_bom(tmp_path: Path, kind: str) -> None:
    bom = b"\xef\xbb\xbf"
    s3 = read_s3rec(TINY_TXT, TINY_ATTR)
    txt = _compressed(tmp_path / "Tiny.txt", bom + TINY_TXT.read_bytes(), kind)
    attr = _compressed(tmp_path / "Tiny_item2attributes.json", bom + TINY_ATTR.read_bytes(), kind)
    assert read_s3rec(txt, attr).checksum() == s3.checksum()
    assert s3rec.attributes_path_for(txt) == attr
    rb = read_recbole(TINY_RECBOLE)
    inter = _compressed(tmp_path / "tiny.inter", bom + (TINY_RECBOLE / "tiny.inter").read_bytes(), kind)
    _compressed(tmp_path / "tiny.item", bom + (TINY_RECBOLE / "tiny.item").read_bytes(), kind)
    assert read_recbole(inter).checksum() == rb.checksum()
    quoted = bom + b'"user","item","timestamp"\r\n"u1","x","2"\r\n"u1","y","1"\r\n'
    ds = read_table(_compressed(tmp_path / "t.csv", quoted, kind))
    assert ds.user_names == ["u1"] and ds.item_names == ["y", "x"]


def test_binary_input_names_file_and_line(tmp_path: Path) -> None:
    txt = _write(tmp_path / "B.txt", "1 1 2\n")
    with txt.open("ab") as fh:
        fh.write(b"2 \xff\xfe 3\n")
    with pytest.raises(DataFormatError, match="not valid utf-8 text") as info:
        read_s3rec(txt)
    assert info.value.path == str(txt) and info.value.line == 2
    table_path = tmp_path / "t.csv"
    table_path.write_bytes(b"user,item,timestamp\na,x,1\nb,\xe9,2\n")
    with pytest.raises(DataFormatError, match="not valid utf-8 text") as info:
        read_table(table_path)
    assert info.value.path == str(table_path) and info.value.line == 3
