"""Ta-Feng grocery transactions (Nov 2000 - Feb 2001) to the canonical dataset.

Source: the merged CSV of the four monthly files (Kaggle "ta-feng-grocery-dataset",
``ta_feng_all_months_merged.csv``; 817,741 rows, 32,266 customers, 23,812
products, 2,012 subclasses), read as it is distributed: zipped (``ta_feng.csv.zip``)
or extracted, UTF-8 with a byte-order mark, every field in double quotes (plain,
unquoted or gzip copies read the same). One purchased product per line with this header::

    TRANSACTION_DT,CUSTOMER_ID,AGE_GROUP,PIN_CODE,PRODUCT_SUBCLASS,PRODUCT_ID,AMOUNT,ASSET,SALES_PRICE
    11/1/2000,01104905,45-49,115,110411,4710199010372,2,24,30

Rules:

* ``TRANSACTION_DT`` is a day, ``m/d/yyyy`` (Kaggle) or ``yyyy-mm-dd[ hh:mm:ss]``
  (the original monthly files), stored as Unix seconds of that day at 00:00 UTC;
  all purchases of one day keep the file order (the basket order);
* ``CUSTOMER_ID`` and ``PRODUCT_ID`` are kept as text (leading zeros included) in
  ``user_names`` / ``item_names``;
* ``PRODUCT_SUBCLASS`` is the item's category (the last value seen wins); an empty
  subclass leaves the category unknown (0); no attributes;
* repeated purchases (same customer, product and day, also on consecutive lines)
  are kept; the shared ``dedup`` filter drops consecutive repeats when asked.

Example::

    from data_prep.tafeng import convert_tafeng
    dataset = convert_tafeng("ta_feng_all_months_merged.csv", filters={"kcore_k": 5})
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from data_prep._common import (
    CHUNK_ROWS,
    Delimited,
    InvalidValues,
    PathLike,
    Vocabulary,
    file_provenance,
    filter_interactions,
    read_delimited,
    reading,
    require_file,
    restore_names,
)
from graphrec.data.dataset import SequenceDataset
from graphrec.data.interactions import dataset_from_interactions

DESCRIPTION = "Ta-Feng grocery CSV (TRANSACTION_DT, CUSTOMER_ID, ..., PRODUCT_SUBCLASS, PRODUCT_ID, ...)"
EXAMPLES = """\
  graphrec prepare tafeng --input ta_feng_all_months_merged.csv --out data/tafeng
  graphrec prepare tafeng --input ta_feng_all_months_merged.csv --kcore 5 --dedup --out data/tafeng-5
  graphrec prepare tafeng --input ../shared/data/tafeng/ta_feng.csv.zip --kcore 12 --out data/tafeng-12
"""


def parse_days(values: pd.Series) -> np.ndarray:
    """``(n,)`` float Unix seconds of each day (NaN where the text is not a date)."""
    text = values.astype(str).str.strip()
    dates = pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")
    retry = dates.isna().to_numpy()
    if retry.any():
        dates[retry] = pd.to_datetime(text[retry].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    days = dates.to_numpy().astype("datetime64[D]")
    seconds = days.astype(np.int64).astype(np.float64) * 86_400.0
    seconds[np.isnat(days)] = np.nan
    return seconds


def _is_day(value: str) -> bool:
    return not np.isnan(parse_days(pd.Series([value]))[0])


def _ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(text, present)``: stripped text of an id column and which rows have one."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip().to_numpy()
    return text, text != ""


LAYOUT = Delimited(
    columns=("TRANSACTION_DT", "CUSTOMER_ID", "AGE_GROUP", "PIN_CODE", "PRODUCT_SUBCLASS", "PRODUCT_ID",
             "AMOUNT", "ASSET", "SALES_PRICE"),
    header=True,
    optional=("AGE_GROUP", "PIN_CODE", "PRODUCT_SUBCLASS", "AMOUNT", "ASSET", "SALES_PRICE"),
    checks={
        "TRANSACTION_DT": (_is_day, "TRANSACTION_DT must be a day, m/d/yyyy or yyyy-mm-dd"),
        "CUSTOMER_ID": (lambda v: v.strip() != "", "CUSTOMER_ID must not be empty"),
        "PRODUCT_ID": (lambda v: v.strip() != "", "PRODUCT_ID must not be empty"),
    },
    hint="expected the Ta-Feng CSV with the header "
         "TRANSACTION_DT,CUSTOMER_ID,AGE_GROUP,PIN_CODE,PRODUCT_SUBCLASS,"
         "PRODUCT_ID,AMOUNT,ASSET,SALES_PRICE; "
         "fix or remove that line",
)
_DTYPE = {"TRANSACTION_DT": str, "CUSTOMER_ID": str, "PRODUCT_SUBCLASS": str, "PRODUCT_ID": str}


def convert_tafeng(
    path: PathLike,
    filters: dict[str, Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert the Ta-Feng CSV (as distributed: zipped or not, BOM, quoted fields) to a dataset.

    Args:
        path: the merged transactions CSV.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.
        chunk_rows: rows parsed per chunk.

    Returns:
        The dataset; timestamps are Unix seconds of the purchase day.
    """
    path = require_file(path, "Ta-Feng transactions file")
    users, items, subclasses = Vocabulary(), Vocabulary(), Vocabulary()
    chunks: list[pd.DataFrame] = []
    with reading(path, LAYOUT):
        for chunk in read_delimited(path, LAYOUT, _DTYPE, chunk_rows=chunk_rows):
            seconds = parse_days(chunk["TRANSACTION_DT"])
            user_text, user_ok = _ids(chunk["CUSTOMER_ID"])
            item_text, item_ok = _ids(chunk["PRODUCT_ID"])
            if np.isnan(seconds).any() or not (user_ok.all() and item_ok.all()):
                raise InvalidValues("bad TRANSACTION_DT, CUSTOMER_ID or PRODUCT_ID")
            subclass, known = _ids(chunk["PRODUCT_SUBCLASS"])
            category = pd.array(np.zeros(len(chunk), dtype=np.int64), dtype="Int64")
            category[known] = subclasses.encode(subclass[known])
            category[~known] = pd.NA
            chunks.append(pd.DataFrame({
                "user": users.encode(user_text),
                "item": items.encode(item_text),
                "timestamp": seconds.astype(np.int64),
                "category": category,
            }))
    frame = pd.concat(chunks, ignore_index=True)
    del chunks
    frame, applied = filter_interactions(frame, filters, path)
    meta: dict[str, Any] = {
        "source": "tafeng",
        "inputs": [file_provenance(path)],
        "filters": applied,
        "category_rule": "PRODUCT_SUBCLASS (empty = unknown)",
        "timestamp_unit": "s",
        "timestamp_rule": "TRANSACTION_DT day at 00:00 UTC; same-day purchases in file order",
    }
    dataset = dataset_from_interactions(frame, meta=meta)
    without = int((dataset.item_category[1:] == 0).sum())
    if without:
        dataset.meta["items_without_category"] = without
    return restore_names(dataset, users=users, items=items, categories=subclasses)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE",
                        help="ta_feng_all_months_merged.csv, or the zip it comes in (also .gz/.bz2)")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    return convert_tafeng(args.input, filters=filters)
