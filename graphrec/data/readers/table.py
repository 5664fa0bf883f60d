"""Generic interaction tables: CSV / TSV / Parquet with named columns.

One row per event; the columns holding the user, the item and (optionally) the
time, the item's category and a rating are named by the caller. Ids may be any
strings or integers: users are numbered ``0..U-1`` and items ``1..N`` in order of
first appearance (the raw ids are kept as ``user_names`` / ``item_names``).
Timestamps may be numbers or date strings (parsed to integer seconds).

Example::

    user,item,timestamp,category
    alice,sku-1,1700000000,shoes
    alice,sku-7,1700000100,socks

Text tables are read as users download them (:mod:`graphrec.data.readers.files`):
plain, ``.gz``, ``.bz2`` or a one-file ``.zip``, with or without a UTF-8 byte-order
mark, fields quoted or not. Numbers that are not finite, and timestamps beyond the
64-bit integer range, are errors at their line.

This module also holds :func:`file_provenance`, the input-file record every
reader stores in ``meta["inputs"]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.filters import apply_filters
from graphrec.data.interactions import dataset_from_interactions
from graphrec.data.readers.files import check_text, open_binary, open_text, plain_suffix, stream_errors
from graphrec.data.readers.parsing import (
    FIRST_TABLE_LINE,
    Lines,
    TableLines,
    check_range,
    empty_id_problem,
    parse_numbers,
    raise_first_bad,
)

DESCRIPTION = "generic CSV/TSV/Parquet interaction table with named user/item/time[/category/rating] columns"
EXAMPLES = """\
  graphrec prepare table --input clicks.csv --out data/clicks
  graphrec prepare table --input log.tsv --user-col uid --item-col sku --time-col ts \\
      --category-col cat --kcore 5 --out data/log
  graphrec prepare table --input events.parquet --time-col none --out data/events
"""

_PARQUET_SUFFIXES = (".parquet", ".pq")


def file_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of an input file, for ``meta["inputs"]``."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path.resolve()), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def require_nonempty(path: Path) -> None:
    """Raise :class:`DataFormatError` when ``path`` is missing, not a file or empty."""
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    if not path.is_file():
        raise DataFormatError(path, None, "not a regular file")
    if path.stat().st_size == 0:
        raise DataFormatError(path, None, "empty file")


def _guess_separator(path: Path) -> str:
    suffix = plain_suffix(path)
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    with stream_errors(path), open_text(path) as fh:
        first = fh.readline()
    return "\t" if "\t" in first else ","


def _read_frame(path: Path, sep: str | None) -> tuple[pd.DataFrame, str]:
    """The table as strings, and the separator it was read with."""
    if plain_suffix(path) in _PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path), ""
        except ImportError as err:
            raise ImportError(
                f"reading {path} needs pyarrow (pip install 'graphrec[parquet]')"
            ) from err
        except Exception as err:  # pyarrow raises several unrelated types on bad files
            raise DataFormatError(path, None, f"cannot read as Parquet: {err}") from err
    check_text(path)
    separator = sep if sep is not None else _guess_separator(path)
    try:
        with stream_errors(path), open_binary(path) as fh:
            frame = pd.read_csv(fh, sep=separator, dtype=str, keep_default_na=False, encoding="utf-8",
                                quoting=csv.QUOTE_MINIMAL, skipinitialspace=True)
        return frame, separator
    except pd.errors.EmptyDataError as err:
        raise DataFormatError(path, 1, "no header line (empty table)") from err
    except pd.errors.ParserError as err:
        raise DataFormatError(path, None, f"cannot parse as a table separated by {separator!r}: {err}") \
            from err


def _numeric_column(frame: pd.DataFrame, column: str, path: Path, what: str, lines: Lines
                    ) -> np.ndarray:
    """Parse ``column`` as finite numbers; a bad cell names its line (header = line 1)."""
    return parse_numbers(
        frame[column], path,
        lambda token, count: f"{what} column {column!r} holds {token!r}, not a number ({count} such rows)",
        lines=lines, what=f"{what} column {column!r}",
    )


def _time_column(frame: pd.DataFrame, column: str, path: Path, lines: Lines) -> np.ndarray:
    """Numbers are kept (finite, within the int64 range); date strings become integer seconds.

    The column is numeric when any value is a number; then every value must be one.
    """
    raw = frame[column]
    numbers = pd.to_numeric(raw, errors="coerce")
    missing = numbers.isna().to_numpy()
    if not missing.all():  # a column of numbers: every value must be one (finite, within int64)
        raise_first_bad(path, raw, missing, lines,
                        lambda token, count: f"time column {column!r} holds {token!r}, not a number "
                                             f"(the column holds numbers; {count} such rows)")
        check_range(numbers.to_numpy(), raw, path, f"time column {column!r}", lines, int64=True)
        return numbers.to_numpy()
    dates = pd.to_datetime(raw, errors="coerce", utc=True)
    raise_first_bad(
        path, raw, dates.isna().to_numpy(), lines,
        lambda token, _: f"time column {column!r} holds {token!r}: neither a number nor a date",
    )
    epoch = pd.Timestamp(0, tz="UTC")
    return ((dates - epoch) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def read_table(
    path: str | os.PathLike[str],
    user_col: str = "user",
    item_col: str = "item",
    time_col: str | None = "timestamp",
    category_col: str | None = None,
    rating_col: str | None = None,
    sep: str | None = None,
    filters: dict[str, Any] | None = None,
) -> SequenceDataset:
    """Read an interaction table and build the canonical dataset.

    Args:
        path: ``.csv`` / ``.tsv`` / other delimited text (header line required) or
            ``.parquet`` (needs pyarrow).
        user_col / item_col: names of the user and item id columns.
        time_col: name of the time column (numbers or dates); ``None`` keeps the
            file order within each user.
        category_col: optional column with the item's category (the last value
            seen for an item wins).
        rating_col: optional numeric rating column (for the rating filter).
        sep: field separator for text files; ``None`` guesses from the suffix
            (``.tsv`` -> tab, ``.csv`` -> comma) or from the header line.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.

    Returns:
        The dataset; ``meta`` records the source, input file hash and filters.

    Raises:
        DataFormatError: empty file, missing column (the columns found are
            listed), non-numeric time or rating (with the line).
    """
    path = Path(path)
    require_nonempty(path)
    raw, separator = _read_frame(path, sep)
    # a Parquet row or a table with a multi-character separator: row number + 2 (header = 1)
    lines: Lines = TableLines(path, separator) if len(separator) == 1 else FIRST_TABLE_LINE
    wanted = {"user": user_col, "item": item_col, "timestamp": time_col,
              "category": category_col, "rating": rating_col}
    missing = [
        f"{role}={col!r}" for role, col in wanted.items() if col is not None and col not in raw.columns
    ]
    if missing:
        raise DataFormatError(
            path, 1,
            f"missing column(s) {', '.join(missing)}; columns found: {list(map(str, raw.columns))}"
            + (" (pass time_col=None / --time-col none when there is no time column)"
               if time_col is not None and time_col not in raw.columns else ""),
        )
    if len(raw) == 0:
        raise DataFormatError(path, None, "the table has a header but no rows")
    frame = pd.DataFrame({"user": raw[user_col].to_numpy(), "item": raw[item_col].to_numpy()})
    for role, column in (("user", user_col), ("item", item_col)):
        empty = (frame[role].isna() | (frame[role].astype(str) == "")).to_numpy()
        raise_first_bad(path, frame[role], empty, lines, empty_id_problem(role, column))
    if time_col is not None:
        frame["timestamp"] = _time_column(raw, time_col, path, lines)
    if rating_col is not None:
        frame["rating"] = _numeric_column(raw, rating_col, path, "rating", lines)
    if category_col is not None:
        frame["category"] = raw[category_col].to_numpy()
    frame, records = apply_filters(frame, **(filters or {}))
    meta = {
        "source": "table",
        "inputs": [file_provenance(path)],
        "columns": {k: v for k, v in wanted.items() if v is not None},
        "filters": records,
    }
    return dataset_from_interactions(frame, meta=meta)


# ------------------------------------------------------------------ source contract
def _optional(value: str | None) -> str | None:
    return None if value is None or value.lower() == "none" else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE", help="CSV, TSV or Parquet file")
    parser.add_argument("--user-col", default="user", help="user id column (default: user)")
    parser.add_argument("--item-col", default="item", help="item id column (default: item)")
    parser.add_argument("--time-col", default="timestamp",
                        help="time column, numbers or dates; 'none' keeps file order (default: timestamp)")
    parser.add_argument("--category-col", default=None, help="item category column (default: none)")
    parser.add_argument("--rating-col", default=None, help="rating column, for --min-rating (default: none)")
    parser.add_argument("--sep", default=None,
                        help="field separator (default: from the suffix, .tsv = tab, .csv = comma)")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    return read_table(
        args.input,
        user_col=args.user_col,
        item_col=args.item_col,
        time_col=_optional(args.time_col),
        category_col=_optional(args.category_col),
        rating_col=_optional(args.rating_col),
        sep=args.sep,
        filters=filters,
    )
