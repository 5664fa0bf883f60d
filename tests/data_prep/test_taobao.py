"""Taobao UserBehavior converter on a hand-made fixture (tests/data_prep/fixtures/taobao)."""

from pathlib import Path

import numpy as np
import pytest

from data_prep._common import CHUNK_ROWS
from data_prep.taobao import convert_taobao

FIXTURE = Path(__file__).parent / "fixtures" / "taobao" / "UserBehavior.csv"


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


@pytest.mark.parametrize("chunk_rows", [2, CHUNK_ROWS])
def test_exact_output(chunk_rows):
    # user 1: 101 and 102 tie at ...000 (file order), then 100 twice (duplicate row kept)
    d = convert_taobao(FIXTURE, chunk_rows=chunk_rows)
    assert d.user_names == ["1", "2", "3"]
    assert d.item_names == ["101", "102", "100"]
    assert _seqs(d) == [[1, 2, 3, 3], [2, 3], [1]]
    assert d.item_category.tolist() == [0, 1, 2, 3]
    assert d.category_names == ["11", "12", "10"]
    assert d.timestamps.tolist() == [1511544000, 1511544000, 1511544070, 1511544070,
                                     1511500000, 1511600000, 1511544000]
    assert d.meta["behavior_counts"] == {"pv": 4, "buy": 1, "cart": 1, "fav": 1}
    assert d.meta["filters"] == []
    assert len(d.meta["inputs"][0]["sha256"]) == 64


def test_behaviour_selection_is_recorded():
    d = convert_taobao(FIXTURE, behaviors=["pv"], chunk_rows=3)
    assert _seqs(d) == [[1, 2, 3, 3]]
    assert d.item_names == ["101", "102", "100"]
    (record,) = d.meta["filters"]
    assert record["filter"] == "behavior_type"
    assert record["before"] == {"interactions": 7, "users": 3, "items": 3}
    assert record["after"] == {"interactions": 4, "users": 1, "items": 3}


def test_iterative_kcore():
    # 2-core: user 3 (1 event) goes, then item 101 has one event left and goes too
    d = convert_taobao(FIXTURE, filters={"kcore_k": 2})
    assert d.item_names == ["102", "100"]
    assert _seqs(d) == [[1, 2, 2], [1, 2]]
    assert d.meta["filters"][0]["after"] == {"interactions": 5, "users": 2, "items": 2}


def test_dedup_consecutive_repeats():
    d = convert_taobao(FIXTURE, filters={"dedup": True})
    assert _seqs(d) == [[1, 2, 3], [2, 3], [1]]


def test_unknown_behaviour_name_is_rejected():
    with pytest.raises(ValueError, match="subset"):
        convert_taobao(FIXTURE, behaviors=["click"])


def test_gzip_input_gives_the_same_dataset(tmp_path):
    import gzip

    path = tmp_path / "UserBehavior.csv.gz"
    path.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    a, b = convert_taobao(FIXTURE), convert_taobao(path)
    assert a.checksum() == b.checksum()
    np.testing.assert_array_equal(a.items, b.items)
