"""dataset_from_interactions: time sort with stable ties, id remapping, categories, attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphrec.data.interactions import dataset_from_interactions, interactions_from_dataset


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "user": ["b", "a", "b", "a", "b"],
        "item": ["x", "y", "z", "x", "y"],
        "timestamp": [5, 3, 5, 1, 2],
    })


def test_time_sort_is_stable_and_ids_follow_first_appearance() -> None:
    ds = dataset_from_interactions(_frame())
    # users in order of first appearance: b, a. b: y(2), x(5), z(5) (x before z: file order); a: x(1), y(3)
    assert ds.user_names == ["b", "a"]
    assert ds.item_names == ["y", "x", "z"]
    np.testing.assert_array_equal(ds.indptr, [0, 3, 5])
    np.testing.assert_array_equal(ds.items, [1, 2, 3, 2, 1])
    np.testing.assert_array_equal(ds.timestamps, [2, 5, 5, 1, 3])


def test_file_order_without_sorting() -> None:
    ds = dataset_from_interactions(_frame(), sort_by_time=False)
    # b: x, z, y; a: y, x
    assert ds.item_names == ["x", "z", "y"]
    np.testing.assert_array_equal(ds.items, [1, 2, 3, 3, 1])
    no_time = dataset_from_interactions(_frame().drop(columns="timestamp"))
    assert no_time.timestamps is None
    np.testing.assert_array_equal(no_time.items, [1, 2, 3, 3, 1])


def test_category_column_last_value_wins() -> None:
    frame = _frame().assign(category=["k1", "k2", "k2", "k3", "k2"])
    ds = dataset_from_interactions(frame)
    # sorted rows: b y(k2) x(k1) z(k2), a x(k3) y(k2): x's last category is k3
    assert ds.category_names is not None
    names = [ds.category_names[c - 1] for c in ds.item_category[1:]]
    assert names == ["k2", "k3", "k2"]
    assert ds.item_category[0] == 0


def test_category_mapping_with_integer_keys_and_unknown_items() -> None:
    frame = pd.DataFrame({"user": [1, 1, 1], "item": [10, 20, 30]})
    ds = dataset_from_interactions(frame, item_category={10: "shoe", 30: "sock"})
    np.testing.assert_array_equal(ds.item_category, [0, 1, 0, 2])
    assert ds.category_names == ["shoe", "sock"]


def test_attributes_csr() -> None:
    frame = pd.DataFrame({"user": [0, 0, 1], "item": ["p", "q", "r"]})
    ds = dataset_from_interactions(frame, item_attributes={"p": ["red", "big"], "r": ["big"]})
    np.testing.assert_array_equal(ds.attr_indptr, [0, 0, 2, 2, 3])
    np.testing.assert_array_equal(ds.attr_values, [1, 2, 2])
    assert ds.meta["num_attributes"] == 2


def test_round_trip_through_interactions() -> None:
    ds = dataset_from_interactions(_frame())
    frame = interactions_from_dataset(ds)
    np.testing.assert_array_equal(frame["user"], [0, 0, 0, 1, 1])
    again = dataset_from_interactions(frame)
    np.testing.assert_array_equal(again.items, ds.items)
    np.testing.assert_array_equal(again.timestamps, ds.timestamps)


def test_empty_frame() -> None:
    with pytest.raises(ValueError, match="no interactions"):
        dataset_from_interactions(_frame().iloc[:0])
