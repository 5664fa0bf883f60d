"""Tmall (IJCAI-15 repeat-buyers contest, Tianchi dataset 42) to the canonical dataset.

Source: ``user_log_format1.csv`` from ``data_format1.zip`` (about 54.9M events of
424,170 users on 1,090,390 items), used by ComiRec-style multi-interest papers and
by S3Rec. One event per line with this header::

    user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type
    328862,323294,833,2882,2661,0829,0

Quirks and rules:

* ``time_stamp`` is the day as ``mmdd`` **without a year**. The logs cover the six
  months before and including "Double 11" (2014-11-11), so the year is taken to be
  **2014**: ``0829`` becomes 2014-08-29 00:00 UTC as Unix seconds. Events of one
  day keep the file order (the file has no finer time). A ``time_stamp`` that is
  not a real 2014 date (``0230``, ``1301``) is an error naming its line.
* ``action_type`` is ``0`` click, ``1`` add-to-cart, ``2`` purchase, ``3``
  add-to-favourite. All are interactions unless ``actions`` selects some; the
  selection is logged and recorded with counts in ``meta["filters"]``, and the
  events per action in ``meta["action_counts"]``.
* ``brand_id`` may be empty (or ``NULL``); ``cat_id`` is the item's category (ids
  kept as ``category_names``); ``seller_id`` and ``brand_id`` become the item's
  attributes ``seller:<id>`` and ``brand:<id>`` when ``attributes`` is on.
* The file repeats many identical rows (same user, item, day and action); they are
  kept — the shared ``dedup`` filter drops consecutive repeats when asked.

Example::

    from data_prep.tmall import convert_tmall
    dataset = convert_tmall("user_log_format1.csv", actions=["click"], filters={"kcore_k": 5})
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from data_prep._common import (
    CHUNK_ROWS,
    Delimited,
    InvalidValues,
    PathLike,
    RunningCounts,
    file_provenance,
    filter_interactions,
    read_delimited,
    reading,
    require_file,
    require_rows,
    selection_record,
)
from graphrec.data.dataset import SequenceDataset
from graphrec.data.interactions import dataset_from_interactions

DESCRIPTION = "Tmall IJCAI-15 user_log_format1.csv (mmdd days taken in 2014; click/cart/purchase/fav)"
EXAMPLES = """\
  graphrec prepare tmall --input data_format1/user_log_format1.csv --out data/tmall
  graphrec prepare tmall --input user_log_format1.csv --actions click --kcore 5 --out data/tmall-click
"""

#: the year the ``mmdd`` time stamps are taken to be in
YEAR = 2014
ACTIONS = {"click": 0, "cart": 1, "purchase": 2, "favourite": 3}
_ACTION_NAMES = {v: k for k, v in ACTIONS.items()}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)  # 2014
_DAYS_BEFORE_MONTH = np.concatenate([[0, 0], np.cumsum(_DAYS_IN_MONTH[1:-1])])  # (13,) by month 1..12
_YEAR_START = int(np.datetime64(f"{YEAR}-01-01", "s").astype(np.int64))


def mmdd_to_seconds(mmdd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds, valid)``: Unix seconds of ``YEAR``-mm-dd 00:00 UTC, and which inputs are real dates."""
    month, day = mmdd // 100, mmdd % 100
    valid = (month >= 1) & (month <= 12)
    month_ok = np.where(valid, month, 1)
    valid &= (day >= 1) & (day <= _DAYS_IN_MONTH[month_ok])
    day_of_year = _DAYS_BEFORE_MONTH[month_ok] + day - 1
    return _YEAR_START + 86_400 * day_of_year, valid


def _is_date(value: str) -> bool:
    try:
        return bool(mmdd_to_seconds(np.array([int(value)]))[1][0])
    except ValueError:
        return False


LAYOUT = Delimited(
    columns=("user_id", "item_id", "cat_id", "seller_id", "brand_id", "time_stamp", "action_type"),
    header=True,
    integer=("user_id", "item_id", "cat_id", "seller_id", "brand_id", "time_stamp", "action_type"),
    optional=("brand_id",),
    checks={
        "time_stamp": (_is_date, f"time_stamp must be a day 'mmdd' of {YEAR}"),
        "action_type": (lambda v: v.strip() in {"0", "1", "2", "3"},
                        "action_type must be 0 (click), 1 (cart), 2 (purchase) or 3 (favourite)"),
    },
    hint="expected user_log_format1.csv lines "
         "'user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type'; fix or remove that line",
)
_DTYPE = {
    "user_id": np.int64, "item_id": np.int64, "cat_id": np.int64, "seller_id": np.int64,
    "brand_id": "Int64", "time_stamp": np.int64, "action_type": np.int8,
}


def convert_tmall(
    path: PathLike,
    actions: Sequence[str] | None = None,
    attributes: bool = True,
    filters: dict[str, Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert ``user_log_format1.csv`` (plain or gzip) to a :class:`SequenceDataset`.

    Args:
        path: the log file.
        actions: actions to keep, names from ``click, cart, purchase, favourite``;
            ``None`` keeps all.
        attributes: give items the attributes ``seller:<id>`` and ``brand:<id>``.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.
        chunk_rows: rows parsed per chunk.

    Returns:
        The dataset (timestamps: Unix seconds of the day, see the module docstring).
    """
    path = require_file(path, "Tmall user log")
    keep_codes = None
    if actions is not None:
        unknown = sorted(set(actions) - set(ACTIONS))
        if unknown or not actions:
            raise ValueError(f"actions must be a non-empty subset of {sorted(ACTIONS)}, got {list(actions)}")
        keep_codes = [ACTIONS[a] for a in actions]
    chunks: list[pd.DataFrame] = []
    action_counts = np.zeros(4, dtype=np.int64)
    before = RunningCounts()
    with reading(path, LAYOUT):
        for chunk in read_delimited(path, LAYOUT, _DTYPE, chunk_rows=chunk_rows):
            action = chunk["action_type"].to_numpy()
            if action.min(initial=0) < 0 or action.max(initial=0) > 3:
                raise InvalidValues("action_type outside 0..3")
            seconds, valid = mmdd_to_seconds(chunk["time_stamp"].to_numpy())
            if not valid.all():
                raise InvalidValues("time_stamp is not a day mmdd")
            action_counts += np.bincount(action, minlength=4)
            part = pd.DataFrame({
                "user": chunk["user_id"].to_numpy(),
                "item": chunk["item_id"].to_numpy(),
                "timestamp": seconds,
                "category": chunk["cat_id"].to_numpy(),
                "seller": chunk["seller_id"].to_numpy(),
                "brand": chunk["brand_id"].array,
            })
            if keep_codes is not None:
                before.update(part["user"].to_numpy(), part["item"].to_numpy())
                part = part[np.isin(action, keep_codes)]
            chunks.append(part if attributes else part.drop(columns=["seller", "brand"]))
    frame = pd.concat(chunks, ignore_index=True)
    del chunks
    records = []
    counts_by_name = {_ACTION_NAMES[i]: int(c) for i, c in enumerate(action_counts)}
    if actions is not None:
        records.append(selection_record("action_type", {"keep": list(actions)}, before.as_dict(), frame))
        require_rows(frame, path, f"keeping actions {list(actions)} (counts: {counts_by_name})")
    frame, applied = filter_interactions(frame, filters, path)
    meta: dict[str, Any] = {
        "source": "tmall",
        "inputs": [file_provenance(path)],
        "filters": records + applied,
        "action_counts": counts_by_name,
        "category_rule": "cat_id column",
        "timestamp_unit": "s",
        "timestamp_rule": f"time_stamp mmdd taken as {YEAR}-mm-dd 00:00 UTC; same-day events in file order",
    }
    item_attributes = None
    if attributes:
        item_attributes = _seller_brand(frame)
        frame = frame.drop(columns=["seller", "brand"])
        meta["attribute_rule"] = "seller:<seller_id>, brand:<brand_id> (no brand when it is missing)"
    return dataset_from_interactions(frame, item_attributes=item_attributes, meta=meta)


def _seller_brand(frame: pd.DataFrame) -> dict[int, list[str]]:
    """item -> ``["seller:<id>", "brand:<id>"]`` from each item's last row."""
    last = frame.groupby("item", sort=False)[["seller", "brand"]].last()
    sellers = last["seller"].to_numpy()
    brands = last["brand"].array.to_numpy(dtype=object, na_value=None)
    return {
        item: [f"seller:{s}"] if b is None else [f"seller:{s}", f"brand:{b}"]
        for item, s, b in zip(last.index.tolist(), sellers.tolist(), brands.tolist())
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE", help="user_log_format1.csv (plain or .gz)")
    parser.add_argument("--actions", default="all", metavar="LIST",
                        help="comma-separated actions to keep: click,cart,purchase,favourite (default: all)")
    parser.add_argument("--no-attributes", action="store_true",
                        help="do not attach seller/brand attributes to items")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    actions = None
    if args.actions.strip().lower() != "all":
        actions = [a.strip().lower() for a in args.actions.split(",") if a.strip()]
    return convert_tmall(args.input, actions=actions, attributes=not args.no_attributes, filters=filters)
