"""Ta-Feng converter on a hand-made fixture (same-day ties, missing subclass, repeated purchase)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_prep.tafeng import convert_tafeng, parse_days

FIXTURE = Path(__file__).parent / "fixtures" / "tafeng" / "ta_feng_all_months_merged.csv"
NOV1 = 973_036_800  # 2000-11-01 00:00 UTC


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


def test_parse_days_both_layouts():
    seconds = parse_days(pd.Series(["11/1/2000", "2000-11-01 00:00:00", "2/1/2001", "2/30/2001", "x"]))
    assert seconds[:3].tolist() == [NOV1, NOV1, NOV1 + 92 * 86_400]
    assert np.isnan(seconds[3:]).all()


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_exact_output(chunk_rows):
    d = convert_tafeng(FIXTURE, chunk_rows=chunk_rows)
    assert d.user_names == ["01104905", "00418683"]  # leading zeros kept
    assert d.item_names == ["4710857472535", "4710105011011", "4710199010372", "4710043001433"]
    # customer 01104905: two purchases on 11/1 (file order), the same product twice on 11/2
    assert _seqs(d) == [[1, 2, 3, 3], [4, 1]]
    assert d.item_category.tolist() == [0, 1, 0, 2, 3]  # 4710105011011 has no subclass
    assert d.category_names == ["110217", "110411", "100201"]
    day = 86_400
    assert d.timestamps.tolist() == [NOV1, NOV1, NOV1 + day, NOV1 + day, NOV1, NOV1 + 32 * day]
    assert d.meta["items_without_category"] == 1


def test_filters():
    assert _seqs(convert_tafeng(FIXTURE, filters={"dedup": True})) == [[1, 2, 3], [4, 1]]
    d = convert_tafeng(FIXTURE, filters={"kcore_k": 2})
    assert d.item_names == ["4710199010372"] and _seqs(d) == [[1, 1]]
    assert d.meta["filters"][0]["iterations"] == 4


# ----------------------------------------------------- the file as users download it
def _as_distributed(text: str) -> bytes:
    """The Kaggle file's form: UTF-8 BOM, every field in double quotes, CRLF line ends."""
    lines = [",".join(f'"{field}"' for field in line.split(",")) for line in text.splitlines()]
    return b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"


@pytest.mark.parametrize("form", ["csv", "zip", "gz"])
def test_the_file_as_distributed(tmp_path, form):
    import gzip
    import zipfile

    data = _as_distributed(FIXTURE.read_text())
    path = tmp_path / "ta_feng_all_months_merged.csv"
    if form == "csv":
        path.write_bytes(data)
    elif form == "gz":
        path = path.with_suffix(".csv.gz")
        path.write_bytes(gzip.compress(data))
    else:
        path = tmp_path / "ta_feng.csv.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("ta_feng_all_months_merged.csv", data)
    expected = convert_tafeng(FIXTURE)
    got = convert_tafeng(path)
    assert got.checksum() == expected.checksum()
    assert got.user_names == expected.user_names and got.item_names == expected.item_names


REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tafeng" / "ta_feng.csv.zip"


@pytest.mark.slow
def test_real_tafeng_with_the_recommended_filter(tmp_path, capsys):
    """The zipped Kaggle file through `graphrec prepare` with the 12-core of data/README.md:
    raw 817,741 lines / 32,266 customers / 23,812 products; after it 17,528 users, 9,469 items,
    1,234 categories, 671,607 interactions (about 10 s)."""
    import json

    from graphrec.cli import main
    from graphrec.data.dataset import SequenceDataset

    if not REAL.is_file():
        pytest.skip(f"{REAL} is not present (real datasets live in ../shared/data)")
    out = tmp_path / "tafeng-12"
    assert main(["prepare", "tafeng", "--input", str(REAL), "--kcore", "12", "--out", str(out)]) == 0
    reported = json.loads(capsys.readouterr().out)
    assert (reported["num_users"], reported["num_items"], reported["num_categories"],
            reported["num_interactions"]) == (17_528, 9_469, 1_234, 671_607)
    assert reported["min_length"] >= 12
    dataset = SequenceDataset.load(out)
    assert dataset.checksum() == reported["checksum"]
    kcore = dataset.meta["filters"][0]
    assert kcore["before"] == {"interactions": 817_741, "users": 32_266, "items": 23_812}
    assert np.bincount(dataset.items)[1:].min() >= 12
