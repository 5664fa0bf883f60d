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
