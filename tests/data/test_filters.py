"""Filters: iterative k-core, min length, rating threshold, dedup, empty result."""

from __future__ import annotations

import pandas as pd
import pytest

from graphrec.data.filters import (
    apply_filters,
    dedup_consecutive,
    kcore,
    min_sequence_length,
    rating_threshold,
)


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["user"], frame["item"], strict=True))


def test_kcore_needs_several_rounds() -> None:
    # a chain a-x, a-y, b-x, b-z, c-y that unravels one layer per round, beside a 2-core {d, e} x {p, q}
    frame = pd.DataFrame(
        [("a", "x"), ("a", "y"), ("b", "x"), ("b", "z"), ("c", "y"),
         ("d", "p"), ("d", "q"), ("e", "p"), ("e", "q")],
        columns=["user", "item"],
    )
    out, record = kcore(frame, user_k=2, item_k=2)
    # round 1 drops c (1 row) and z (1 row) -> (b, z), (c, y); round 2: b and y now have 1 row -> (a, y),
    # (b, x); round 3: a and x have 1 row -> (a, x); round 4 keeps everything
    assert _pairs(out) == [("d", "p"), ("d", "q"), ("e", "p"), ("e", "q")]
    assert record["iterations"] == 4
    assert record["before"] == {"interactions": 9, "users": 5, "items": 5}
    assert record["after"] == {"interactions": 4, "users": 2, "items": 2}
    # one round would not have been enough
    one, _ = kcore(frame, user_k=2, item_k=2, max_iterations=1)
    assert len(one) == 7


def test_kcore_counts_repeated_pairs() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "x"]})
    out, _ = kcore(frame, user_k=2, item_k=2)
    assert _pairs(out) == [("a", "x"), ("a", "x")]


def test_min_sequence_length_is_one_pass() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b", "c", "c", "c"], "item": list("xyxxyz")})
    out, record = min_sequence_length(frame, 2)
    assert out["user"].tolist() == ["a", "a", "c", "c", "c"]
    assert record["params"] == {"min_length": 2} and record["after"]["users"] == 2


def test_rating_threshold() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b"], "item": list("xyz"), "rating": [3.0, 4.0, 5.0]})
    out, record = rating_threshold(frame, 4.0)
    assert _pairs(out) == [("a", "y"), ("b", "z")]
    with pytest.raises(ValueError, match="'rating' column"):
        rating_threshold(frame.drop(columns="rating"), 4.0)


def test_dedup_consecutive_only_within_a_user() -> None:
    frame = pd.DataFrame({"user": ["u", "u", "u", "u", "v", "v"], "item": ["1", "1", "2", "1", "1", "1"]})
    out, record = dedup_consecutive(frame)
    assert _pairs(out) == [("u", "1"), ("u", "2"), ("u", "1"), ("v", "1")]
    assert record["after"]["interactions"] == 4


def test_apply_filters_order_records_and_off_by_default() -> None:
    frame = pd.DataFrame(
        [("a", "x", 5), ("a", "x", 5), ("a", "y", 5), ("a", "z", 1),
         ("b", "x", 5), ("b", "y", 5), ("b", "w", 5), ("c", "x", 5), ("c", "y", 5), ("d", "w", 5)],
        columns=["user", "item", "rating"],
    )
    same, records = apply_filters(frame)
    assert records == [] and same is frame
    out, records = apply_filters(frame, kcore_k=2, min_length=2, min_rating=2, dedup=True)
    assert [r["filter"] for r in records] == ["rating_threshold", "dedup_consecutive", "kcore",
                                              "min_sequence_length"]
    # rating drops (a, z); dedup drops a's second x; k-core(2) drops d (1 row), then w has 1 row -> (b, w)
    assert [r["after"]["interactions"] for r in records] == [9, 8, 6, 6]
    assert records[2]["iterations"] == 3
    assert _pairs(out) == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "x"), ("c", "y")]


def test_apply_filters_empty_result_names_the_filter() -> None:
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"]})
    with pytest.raises(ValueError, match="after filter min_sequence_length"):
        apply_filters(frame, min_length=5)


def test_items_first_then_users_is_one_pass_each() -> None:
    # x has 4 rows, y 1: y goes first; then b and c (left with 1 row each) go; a keeps its 2 rows of x
    frame = pd.DataFrame([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("c", "x")],
                         columns=["user", "item"])
    out, records = apply_filters(frame, min_item_count=2, min_length=2)
    assert _pairs(out) == [("a", "x"), ("a", "x")]
    assert [r["filter"] for r in records] == ["min_item_count", "min_sequence_length"]
    assert records[0]["after"] == {"interactions": 4, "users": 3, "items": 1}
    # one pass each: after dropping users, an item may fall below the count again (not re-checked)
    frame2 = pd.DataFrame([("a", "x"), ("a", "y"), ("b", "x"), ("c", "y"), ("c", "y")],
                          columns=["user", "item"])
    out2, _ = apply_filters(frame2, min_item_count=2, min_length=2)
    assert _pairs(out2) == [("a", "x"), ("a", "y"), ("c", "y"), ("c", "y")]  # x now has 1 row and stays
