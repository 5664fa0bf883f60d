"""Taobao UserBehavior (Alibaba, Tianchi dataset 649) to the canonical dataset.

Source: ``UserBehavior.csv`` (about 100M rows, 987,994 users, 4,162,024 items,
9,439 categories, 2017-11-25 .. 2017-12-03), released with Zhu et al., "Learning
Tree-based Deep Model for Recommender Systems", KDD 2018, and used by ComiRec
(Cen et al., KDD 2020). One event per line, no header::

    user_id,item_id,category_id,behavior_type,timestamp
    1,2268318,2520377,pv,1511544070

``behavior_type`` is one of ``pv`` (page view / click), ``buy``, ``cart``, ``fav``;
``timestamp`` is Unix seconds. The file also holds a few events with timestamps
outside the collection window; they are kept (in time order) like any other.

Rules:

* every behaviour is an interaction unless ``behaviors`` selects some (ComiRec keeps
  clicks only: ``behaviors=["pv"]``); the selection is logged and recorded with its
  counts in ``meta["filters"]``, and the number of events per behaviour in
  ``meta["behavior_counts"]``;
* each user's events are sorted by time, the file order breaking ties;
* ``category_id`` is the item's category (the last value seen wins; the ids are
  kept as ``category_names``), no attributes;
* the file is read in chunks with explicit dtypes (bounded memory, no per-row
  Python); ``benchmarks/prepare_scale.py`` times 20M rows.

Example::

    from data_prep.taobao import convert_taobao
    dataset = convert_taobao("UserBehavior.csv", behaviors=["pv"], filters={"kcore_k": 5})
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

DESCRIPTION = "Taobao UserBehavior.csv (user,item,category,behaviour,timestamp; pv/buy/cart/fav)"
EXAMPLES = """\
  graphrec prepare taobao --input UserBehavior.csv --out data/taobao
  graphrec prepare taobao --input UserBehavior.csv --behaviors pv --kcore 5 --out data/taobao-pv
"""

BEHAVIORS = ("pv", "buy", "cart", "fav")

LAYOUT = Delimited(
    columns=("user_id", "item_id", "category_id", "behavior_type", "timestamp"),
    integer=("user_id", "item_id", "category_id", "timestamp"),
    checks={"behavior_type": (lambda v: v in BEHAVIORS, f"the behaviour must be one of {BEHAVIORS}")},
    hint="expected UserBehavior.csv lines 'user_id,item_id,category_id,behavior_type,timestamp'; "
         "fix or remove that line, or download the file again",
)
_DTYPE = {
    "user_id": np.int64, "item_id": np.int64, "category_id": np.int64,
    "behavior_type": "category", "timestamp": np.int64,
}


def convert_taobao(
    path: PathLike,
    behaviors: Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert ``UserBehavior.csv`` (plain or gzip) to a :class:`SequenceDataset`.

    Args:
        path: the event file.
        behaviors: behaviour types to keep (subset of ``pv, buy, cart, fav``);
            ``None`` keeps all.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.
        chunk_rows: rows parsed per chunk (bounds the parser's memory).

    Returns:
        The dataset; ``meta`` holds the input sha256, behaviour counts and filter records.
    """
    path = require_file(path, "Taobao UserBehavior file")
    if behaviors is not None:
        unknown = sorted(set(behaviors) - set(BEHAVIORS))
        if unknown or not behaviors:
            raise ValueError(f"behaviors must be a non-empty subset of {BEHAVIORS}, got {list(behaviors)}")
    chunks: list[pd.DataFrame] = []
    behavior_counts = dict.fromkeys(BEHAVIORS, 0)
    before = RunningCounts()
    with reading(path, LAYOUT):
        for chunk in read_delimited(path, LAYOUT, _DTYPE, chunk_rows=chunk_rows):
            kind = chunk["behavior_type"]
            bad = set(kind.cat.categories) - set(BEHAVIORS)
            if bad or kind.isna().any():
                raise InvalidValues(f"unknown behaviour type(s) {sorted(map(str, bad))}")
            for name, count in kind.value_counts().items():
                behavior_counts[str(name)] += int(count)
            if behaviors is not None:
                before.update(chunk["user_id"].to_numpy(), chunk["item_id"].to_numpy())
                chunk = chunk[kind.isin(behaviors).to_numpy()]
            chunks.append(pd.DataFrame({
                "user": chunk["user_id"].to_numpy(),
                "item": chunk["item_id"].to_numpy(),
                "timestamp": chunk["timestamp"].to_numpy(),
                "category": chunk["category_id"].to_numpy(),
            }))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(
        {c: np.zeros(0, np.int64) for c in ("user", "item", "timestamp", "category")}
    )
    del chunks
    records = []
    if behaviors is not None:
        records.append(
            selection_record("behavior_type", {"keep": list(behaviors)}, before.as_dict(), frame)
        )
        require_rows(frame, path, f"keeping behaviours {list(behaviors)} (counts: {behavior_counts})")
    frame, applied = filter_interactions(frame, filters, path)
    meta: dict[str, Any] = {
        "source": "taobao",
        "inputs": [file_provenance(path)],
        "filters": records + applied,
        "behavior_counts": behavior_counts,
        "category_rule": "category_id column",
        "timestamp_unit": "s",
    }
    return dataset_from_interactions(frame, meta=meta)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE", help="UserBehavior.csv (plain or .gz)")
    parser.add_argument("--behaviors", default="all", metavar="LIST",
                        help="comma-separated behaviours to keep: pv,buy,cart,fav (default: all)")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    behaviors = None
    if args.behaviors.strip().lower() != "all":
        behaviors = [b.strip().lower() for b in args.behaviors.split(",") if b.strip()]
    return convert_taobao(args.input, behaviors=behaviors, filters=filters)
