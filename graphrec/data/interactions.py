"""Turn an interaction table (one row per user-item event) into a :class:`SequenceDataset`.

Every reader ends here: it parses its format into a ``pandas.DataFrame`` with
columns ``user``, ``item`` and optionally ``timestamp``, ``rating``, ``category``
and ``attributes`` (a list of attribute tokens per row), applies filters
(:mod:`graphrec.data.filters`), and calls :func:`dataset_from_interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from graphrec.data.dataset import SequenceDataset


def _dense_ids(values: pd.Series, start: int) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary ids to ``start..start+n-1`` in order of first appearance."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64) + start, [str(u) for u in uniques]


def dataset_from_interactions(
    frame: pd.DataFrame,
    item_category: dict[Any, Any] | None = None,
    item_attributes: dict[Any, Sequence[Any]] | None = None,
    sort_by_time: bool = True,
    meta: dict[str, Any] | None = None,
) -> SequenceDataset:
    """Build the canonical dataset from an interaction table.

    Users are numbered in order of first appearance, items likewise (from 1).
    Within a user, rows are ordered by ``timestamp`` when ``sort_by_time`` and the
    column exists, with the file order breaking ties (stable sort); otherwise the
    file order is kept.

    Args:
        frame: columns ``user``, ``item`` (any hashable ids), optional ``timestamp``
            and ``category`` (one category per item; the last value seen wins).
        item_category: optional mapping raw item id -> raw category (used when the
            frame has no ``category`` column). Items missing from it get category 0.
        item_attributes: optional mapping raw item id -> list of raw attribute tokens.
        sort_by_time: sort each user's rows by timestamp (stable).
        meta: provenance to store in ``meta.json``.

    Returns:
        The dataset; ``item_names``/``user_names``/``category_names`` keep the raw ids.
    """
    if len(frame) == 0:
        raise ValueError("no interactions left to build a dataset from")
    frame = frame.reset_index(drop=True)
    if sort_by_time and "timestamp" in frame.columns:
        order = np.lexsort((np.arange(len(frame)), frame["timestamp"].to_numpy(), _user_order(frame)))
    else:
        order = np.lexsort((np.arange(len(frame)), _user_order(frame)))
    frame = frame.iloc[order].reset_index(drop=True)

    users, user_names = _dense_ids(frame["user"], 0)
    items, item_names = _dense_ids(frame["item"], 1)
    num_items = len(item_names)
    counts = np.bincount(users, minlength=len(user_names))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    category = np.zeros(num_items + 1, dtype=np.int64)
    category_names: list[str] | None = None
    raw_item = pd.Series(item_names)
    if "category" in frame.columns:
        per_item = frame.groupby(items, sort=True)["category"].last()
        raw_cat = pd.Series(per_item.to_numpy(), index=per_item.index.to_numpy())
    elif item_category is not None:
        mapped = raw_item.map(lambda x: item_category.get(x, item_category.get(_try_int(x))))
        raw_cat = pd.Series(mapped.to_numpy(), index=np.arange(1, num_items + 1))
    else:
        raw_cat = None
    if raw_cat is not None:
        known = raw_cat.notna().to_numpy()
        cat_codes, cat_uniques = pd.factorize(raw_cat[known], sort=False)
        category[raw_cat.index.to_numpy()[known]] = cat_codes + 1
        category_names = [str(c) for c in cat_uniques]

    attr_indptr = attr_values = None
    attribute_names: list[str] | None = None
    if item_attributes is not None:
        lists = [
            list(item_attributes.get(name, item_attributes.get(_try_int(name), [])) or [])
            for name in item_names
        ]
        flat = pd.Series([a for lst in lists for a in lst], dtype=object)
        codes, uniques = pd.factorize(flat, sort=False)
        lens = np.array([0] + [len(lst) for lst in lists], dtype=np.int64)  # item 0 has none
        attr_indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        attr_values = codes.astype(np.int64) + 1
        attribute_names = [str(a) for a in uniques]

    timestamps = _int64_timestamps(frame["timestamp"]) if "timestamp" in frame.columns else None
    meta = dict(meta or {})
    if attribute_names is not None:
        meta["num_attributes"] = len(attribute_names)
    return SequenceDataset(
        indptr=indptr,
        items=items,
        num_items=num_items,
        item_category=category,
        timestamps=timestamps,
        attr_indptr=attr_indptr,
        attr_values=attr_values,
        user_names=user_names,
        item_names=item_names,
        category_names=category_names,
        meta=meta,
    )


def _int64_timestamps(column: pd.Series) -> np.ndarray:
    """``column`` as int64; a value that is not finite or beyond int64 is an error, never a wrapped number.

    Readers refuse such values with the file and line; this guards every other caller.
    """
    values = column.to_numpy()
    if values.dtype.kind == "f":
        numbers = values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(numbers) | (np.abs(numbers) >= 2.0**63)
        if bad.any():
            raise ValueError(f"timestamp {values[int(np.argmax(bad))]!r} is not a finite number within the "
                             f"64-bit integer range ({int(bad.sum())} such values)")
    elif values.dtype.kind == "u" and len(values) and values.max() > np.iinfo(np.int64).max:
        raise ValueError(f"timestamp {values.max()} is beyond the 64-bit integer range")
    return values.astype(np.int64)


def _user_order(frame: pd.DataFrame) -> np.ndarray:
    """Users keep the order of their first appearance."""
    codes, _ = pd.factorize(frame["user"], sort=False)
    return codes


def _try_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def interactions_from_dataset(dataset: SequenceDataset) -> pd.DataFrame:
    """Inverse of :func:`dataset_from_interactions` on dense ids (``user``, ``item``[, ``timestamp``])."""
    users = np.repeat(np.arange(dataset.num_users, dtype=np.int64), dataset.lengths)
    frame = pd.DataFrame({"user": users, "item": dataset.items})
    if dataset.timestamps is not None:
        frame["timestamp"] = dataset.timestamps
    return frame
