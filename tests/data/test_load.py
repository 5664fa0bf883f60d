"""load_dataset: every accepted spec, and a clear error for anything else."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from graphrec.data.errors import DataFormatError
from graphrec.data.load import load_dataset
from graphrec.data.readers.recbole import read_recbole
from graphrec.data.readers.s3rec import read_s3rec
from graphrec.data.synthetic import generate_synthetic

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_synthetic_spec_and_options() -> None:
    assert load_dataset("synthetic", num_users=100, seed=5).checksum() == \
        generate_synthetic(num_users=100, seed=5).checksum()
    assert load_dataset("synthetic").num_users == 3000


def test_prepared_directory(tmp_path: Path) -> None:
    ds = generate_synthetic(num_users=50, num_items=60, num_categories=6, num_intents=2,
                            intents_per_user=(1, 2), seed=1)
    ds.save(tmp_path / "prepared")
    assert load_dataset(tmp_path / "prepared").checksum() == ds.checksum()
    assert load_dataset(str(tmp_path / "prepared" / "meta.json")).checksum() == ds.checksum()


def test_s3rec_directory_and_file() -> None:
    expected = read_s3rec(FIXTURES / "s3rec" / "Tiny.txt", FIXTURES / "s3rec" / "Tiny_item2attributes.json")
    assert load_dataset(FIXTURES / "s3rec").checksum() == expected.checksum()
    assert load_dataset(FIXTURES / "s3rec" / "Tiny.txt").checksum() == expected.checksum()


def test_recbole_directory_and_file() -> None:
    expected = read_recbole(FIXTURES / "recbole" / "tiny")
    assert load_dataset(FIXTURES / "recbole" / "tiny").checksum() == expected.checksum()
    assert load_dataset(FIXTURES / "recbole" / "tiny" / "tiny.inter").checksum() == expected.checksum()


def test_table_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp\na,x,2\na,y,1\n")
    np.testing.assert_array_equal(load_dataset(path).items, [1, 2])


def test_unrecognised_and_missing_specs(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(DataFormatError) as info:
        load_dataset(tmp_path)
    text = str(info.value)
    assert "meta.json" in text and "*.inter" in text and "_item2attributes.json" in text
    assert "found ['notes.md']" in text
    with pytest.raises(DataFormatError, match="no such file or directory"):
        load_dataset(tmp_path / "absent")
    with pytest.raises(DataFormatError, match="not a recognised dataset"):
        load_dataset(tmp_path / "notes.md")
    with pytest.raises(ValueError, match="only to spec 'synthetic'"):
        load_dataset(FIXTURES / "s3rec", num_users=5)


def test_several_s3rec_datasets_in_one_directory(tmp_path: Path) -> None:
    for name in ("A", "B"):
        shutil.copy(FIXTURES / "s3rec" / "Tiny.txt", tmp_path / f"{name}.txt")
        attributes = FIXTURES / "s3rec" / "Tiny_item2attributes.json"
        shutil.copy(attributes, tmp_path / f"{name}_item2attributes.json")
    with pytest.raises(DataFormatError, match="several S3Rec datasets"):
        load_dataset(tmp_path)
    assert load_dataset(tmp_path / "B.txt").num_users == 3


def test_real_beauty() -> None:
    path = SHARED / "amazon-beauty"
    if not path.is_dir():
        pytest.skip(f"{path} not present (real data lives beside the checkout in shared/data)")
    ds = load_dataset(path)
    assert (ds.num_users, ds.num_items, ds.num_interactions, ds.num_categories) == (22363, 12101, 198502, 195)


def test_unknown_synthetic_option_is_an_error_listing_the_valid_keys() -> None:
    with pytest.raises(ValueError, match="unknown key") as info:
        load_dataset("synthetic", num_user=100)
    text = str(info.value)
    assert "did you mean 'num_users'" in text and "valid keys" in text and "'seed'" in text


def test_compressed_files_are_recognised_by_the_suffix_before_compression(tmp_path: Path) -> None:
    import gzip

    text = "user,item,timestamp\na,x,2\na,y,1\n"
    (tmp_path / "clicks.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "clicks.csv").write_text(text)
    plain = load_dataset(tmp_path / "clicks.csv")
    assert load_dataset(tmp_path / "clicks.csv.gz").checksum() == plain.checksum()
    s3 = tmp_path / "s3"
    s3.mkdir()
    for name in ("Tiny.txt", "Tiny_item2attributes.json"):
        (s3 / f"{name}.gz").write_bytes(gzip.compress((FIXTURES / "s3rec" / name).read_bytes()))
    expected = read_s3rec(FIXTURES / "s3rec" / "Tiny.txt", FIXTURES / "s3rec" / "Tiny_item2attributes.json")
    assert load_dataset(s3).checksum() == expected.checksum()
    assert load_dataset(s3 / "Tiny.txt.gz").checksum() == expected.checksum()


def test_damaged_prepared_directory_is_reported_as_such(tmp_path: Path) -> None:
    target = read_s3rec(FIXTURES / "s3rec" / "Tiny.txt").save(tmp_path / "prepared")
    (target / "meta.json").unlink()
    with pytest.raises(DataFormatError, match="prepared dataset is incomplete") as info:
        load_dataset(target)
    assert info.value.path == str(target / "meta.json")
