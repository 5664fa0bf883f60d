"""Tmall IJCAI-15 converter on a hand-made fixture (mmdd time stamps, missing brands, duplicates)."""

from pathlib import Path

import numpy as np
import pytest

from data_prep.tmall import convert_tmall, mmdd_to_seconds

FIXTURE = Path(__file__).parent / "fixtures" / "tmall" / "user_log_format1.csv"
DAY = 86_400
JAN1_2014 = 1_388_534_400  # 2014-01-01 00:00 UTC


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


def test_mmdd_is_a_day_of_2014():
    seconds, valid = mmdd_to_seconds(np.array([101, 228, 301, 1111, 1231, 229, 1301, 0, 431]))
    assert valid.tolist() == [True, True, True, True, True, False, False, False, False]
    assert seconds[:5].tolist() == [JAN1_2014, JAN1_2014 + 58 * DAY, JAN1_2014 + 59 * DAY,
                                    JAN1_2014 + 314 * DAY, JAN1_2014 + 364 * DAY]


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_exact_output(chunk_rows):
    d = convert_tmall(FIXTURE, chunk_rows=chunk_rows)
    # user 10: 101 (0510), 100 (0511), 100 (0511, duplicate row); user 11: 102 (0228), 101 (0301), 100 (1111)
    assert d.user_names == ["10", "11", "12"]
    assert d.item_names == ["101", "100", "102", "103"]
    assert _seqs(d) == [[1, 2, 2], [3, 1, 2], [4]]
    assert d.item_category.tolist() == [0, 1, 1, 2, 3]
    assert d.category_names == ["7", "8", "9"]
    day = [129, 130, 130, 58, 59, 314, 151]  # day of year - 1: 0510, 0511, 0511, 0228, 0301, 1111, 0601
    assert d.timestamps.tolist() == [JAN1_2014 + DAY * x for x in day]
    # attributes: seller:500 (1), brand:900 (2), seller:501 (3), seller:502 (4), brand:901 (5); empty and
    # NULL brands give no brand attribute
    assert d.attr_indptr.tolist() == [0, 0, 1, 3, 4, 6]
    assert d.attr_values.tolist() == [1, 1, 2, 3, 4, 5]
    assert d.meta["action_counts"] == {"click": 4, "cart": 1, "purchase": 1, "favourite": 1}


def test_action_selection_and_dedup_are_recorded():
    d = convert_tmall(FIXTURE, actions=["click"], attributes=False, filters={"dedup": True})
    assert _seqs(d) == [[1, 2], [3]]
    assert d.item_names == ["101", "100", "102"]
    assert d.attr_indptr is None
    action, dedup = d.meta["filters"]
    assert action["filter"] == "action_type" and action["params"] == {"keep": ["click"]}
    assert action["before"] == {"interactions": 7, "users": 3, "items": 4}
    assert action["after"] == {"interactions": 4, "users": 2, "items": 3}
    assert dedup["filter"] == "dedup_consecutive" and dedup["after"]["interactions"] == 3
