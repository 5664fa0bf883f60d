"""Amazon product reviews (McAuley et al. 2015; Ni et al. 2019; Hou et al. 2024) to the canonical dataset.

Three releases, recognised from the first line of each file:

* **2014** (McAuley et al., SIGIR 2015): reviews ``reviews_<Category>[_5].json.gz``,
  one JSON object per line with ``reviewerID``, ``asin``, ``overall`` (rating) and
  ``unixReviewTime`` (seconds); or the ratings-only ``ratings_<Category>.csv``
  without header (``user,item,rating,timestamp``). Metadata ``meta_<Category>.json.gz``
  holds one **Python dict literal** per line (single quotes; read with
  :func:`ast.literal_eval`, never ``eval``) with ``categories`` — a list of
  category paths, each from the top down — and ``brand``.
* **2018** (Ni et al., EMNLP 2019): reviews ``<Category>[_5].json.gz`` with the same
  review fields; metadata ``meta_<Category>.json.gz`` in JSON with ``category`` (one
  path) and ``brand``.
* **2023** (Hou et al., 2024): reviews ``<Category>.jsonl.gz`` with ``user_id``,
  ``parent_asin`` (the item), ``rating`` and ``timestamp`` in **milliseconds**, or the
  benchmark CSVs with header ``user_id,parent_asin,rating,timestamp[,history]``;
  metadata ``meta_<Category>.jsonl.gz`` with ``categories`` (one path) and ``store``
  (used as the brand).

Rules (all releases):

* every review is an interaction (the shared ``min_rating`` filter reads ``overall``
  / ``rating``); each user's reviews are sorted by time, the file order breaking
  ties; timestamps are stored in seconds (2023 milliseconds order the events first,
  then are divided by 1000);
* item attributes = brand (when given) followed by the category path(s) in file
  order; the item's category = the **last element of the last path** (its most
  specific category), skipping paths that are only a top-level name (2014 items
  often list ``['Beauty']`` as an extra path) unless there is nothing else; an
  item without metadata or without categories gets category 0 (counted in
  ``meta["items_without_category"]``); metadata lines of items that were not
  reviewed (or were filtered out) are skipped without being parsed.

Preset ``s3rec`` — the preprocessing of S3-Rec (Zhou et al., CIKM 2020,
``data_process.py``), reused by ICLRec and S4Rec:

* iterative 5-core on users and items (each user and item keeps >= 5 reviews;
  repeated user-item reviews count twice), unless an explicit ``kcore_k`` is given;
* the top-level category of every path is dropped (``Beauty`` in
  ``['Beauty', 'Makeup', 'Face', 'Powder']``), so attributes = brand + the rest of
  each path (repeats kept) and the category is the last of these attributes (the
  leaf of the last path that is longer than its root);
* the brand is kept whenever the metadata has the key (as S3-Rec does).

Starting from the 2014 5-core files ``reviews_Beauty_5.json.gz`` and
``meta_Beauty.json.gz`` this gives **22,363 users, 12,101 items and 198,502
interactions** — the ``amazon-beauty`` data of S3-Rec / ICLRec / S4Rec::

    from data_prep.amazon import convert_amazon
    beauty = convert_amazon("reviews_Beauty_5.json.gz", "meta_Beauty.json.gz", preset="s3rec")

    graphrec prepare amazon --reviews reviews_Beauty_5.json.gz --meta meta_Beauty.json.gz \\
        --preset s3rec --out data/beauty

Item and user numbering follows first appearance (S3-Rec numbers users after an
unseeded shuffle, so its ids cannot be reproduced; counts, sequences and
categories can).
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_prep._common import (
    BATCH_LINES,
    CHUNK_ROWS,
    Delimited,
    PathLike,
    Vocabulary,
    file_provenance,
    filter_interactions,
    iter_lines,
    parse_record,
    read_delimited,
    reading,
    require_file,
    restore_names,
    time_order,
)
from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.interactions import dataset_from_interactions
from graphrec.data.readers.parsing import INT64_BOUND

DESCRIPTION = "Amazon reviews 2014/2018/2023 (JSON lines or ratings CSV) + metadata; preset s3rec"
EXAMPLES = """\
  graphrec prepare amazon --reviews reviews_Beauty_5.json.gz --meta meta_Beauty.json.gz \\
      --preset s3rec --out data/beauty
  graphrec prepare amazon --reviews ratings_Books.csv --kcore 10 --out data/books
  graphrec prepare amazon --reviews Video_Games.jsonl.gz --meta meta_Video_Games.jsonl.gz \\
      --min-rating 4 --kcore 5 --out data/games-2023
"""

#: preset name -> (filter defaults, converter options)
PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "s3rec": ({"kcore_k": 5}, {"drop_root_category": True, "keep_empty_brand": True}),
}

# review field names: (user, item, rating, time, milliseconds?)
_FIELDS_2014 = ("reviewerID", "asin", "overall", "unixReviewTime", False)
_FIELDS_2023 = ("user_id", "parent_asin", "rating", "timestamp", True)
_PARENT_ASIN = re.compile(r"""["']parent_asin["']\s*:\s*["']([^"']+)["']""")
_ASIN = re.compile(r"""["']asin["']\s*:\s*["']([^"']+)["']""")


# --------------------------------------------------------------------- reviews
def read_reviews(
    path: PathLike, batch_lines: int = BATCH_LINES, chunk_rows: int = CHUNK_ROWS,
) -> tuple[pd.DataFrame, Vocabulary, Vocabulary, str]:
    """Parse a review / rating file into ``user, item, rating, timestamp`` (integer codes).

    Returns:
        ``(frame, users, items, kind)`` where ``users`` / ``items`` map the codes back to
        the raw ids and ``kind`` names the recognised layout. Timestamps are seconds,
        in time order per user for millisecond sources.
    """
    path = require_file(path, "Amazon review file")
    first = next((text for _, text in iter_lines(path) if text.strip()), "")
    if first.lstrip().startswith("{"):
        frame, users, items, millis = _read_json_reviews(path, batch_lines)
        kind = "json lines " + ("2023 (user_id, parent_asin)" if millis else "2014/2018 (reviewerID, asin)")
    else:
        frame, users, items, millis = _read_csv_ratings(path, first, chunk_rows)
        kind = "csv " + ("2023 with header" if millis else "2014 ratings (user,item,rating,timestamp)")
    if millis:  # order by the exact time, then keep seconds
        frame = time_order(frame)
        frame["timestamp"] = frame["timestamp"].to_numpy() // 1000
    return frame, users, items, kind


def _read_json_reviews(path: Path, batch_lines: int) -> tuple[pd.DataFrame, Vocabulary, Vocabulary, bool]:
    users, items = Vocabulary(), Vocabulary()
    parts: list[pd.DataFrame] = []
    fields: tuple[str, str, str, str, bool] | None = None
    buf_u: list[Any] = []
    buf_i: list[Any] = []
    buf_r: list[float] = []
    buf_t: list[int] = []

    def flush() -> None:
        parts.append(pd.DataFrame({
            "user": users.encode(buf_u),
            "item": items.encode(buf_i),
            "rating": np.array(buf_r, dtype=np.float64),
            "timestamp": np.array(buf_t, dtype=np.int64),
        }))
        for buf in (buf_u, buf_i, buf_r, buf_t):
            buf.clear()

    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        record = parse_record(line, path, lineno)
        if fields is None:
            fields = _FIELDS_2023 if "user_id" in record else _FIELDS_2014
        user_key, item_key, rating_key, time_key, _ = fields
        try:
            user, item, rating, stamp = (record[user_key], record[item_key], record[rating_key],
                                         record[time_key])
        except KeyError as err:
            raise DataFormatError(
                path, lineno,
                f"review without the field {err.args[0]!r} (expected {user_key}, {item_key}, {rating_key}, "
                f"{time_key}); the line may be cut short or the file is not an Amazon review file",
            ) from None
        buf_u.append(str(user))
        buf_i.append(str(item))
        buf_r.append(_number(rating, float, path, lineno, rating_key))
        buf_t.append(_number(stamp, int, path, lineno, time_key))
        if len(buf_u) >= batch_lines:
            flush()
    if buf_u or not parts:
        flush()
    return pd.concat(parts, ignore_index=True), users, items, bool(fields and fields[4])


def _number(value: Any, kind: type, path: Path, lineno: int, name: str) -> Any:
    """``value`` as ``int`` (within int64) or ``float`` (finite); else an error at the line."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        if kind is int and isinstance(value, str):
            number: Any = int(value.strip())
        elif kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        else:
            number = kind(value)
    except (TypeError, ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number"
        raise DataFormatError(path, lineno, f"field {name!r} is {value!r}, not {what}; fix or remove "
                              "that line") from None
    if kind is int and not -INT64_BOUND <= number < INT64_BOUND:
        raise DataFormatError(path, lineno, f"field {name!r} is {value!r}, beyond the range of a 64-bit "
                              "integer; fix or remove that line")
    if kind is float and not math.isfinite(number):
        raise DataFormatError(path, lineno, f"field {name!r} is {value!r}, not a finite number; fix or "
                              "remove that line")
    return number


def _read_csv_ratings(path: Path, first: str, chunk_rows: int
                      ) -> tuple[pd.DataFrame, Vocabulary, Vocabulary, bool]:
    header = [h.strip() for h in first.split(",")]
    if header[:1] == ["user_id"]:
        if header[:4] != ["user_id", "parent_asin", "rating", "timestamp"]:
            raise DataFormatError(path, 1, f"header {first!r} does not start with "
                                  "'user_id,parent_asin,rating,timestamp'")
        layout = Delimited(columns=tuple(header), header=True, integer=("timestamp",), number=("rating",),
                           optional=tuple(header[4:]),
                           hint="expected 2023 lines 'user_id,parent_asin,rating,timestamp'")
        millis = True
    else:
        layout = Delimited(columns=("user", "item", "rating", "timestamp"), integer=("timestamp",),
                           number=("rating",),
                           hint="expected ratings lines 'user,item,rating,timestamp' (2014 ratings_*.csv)")
        millis = False
    user_col, item_col, rating_col, time_col = layout.columns[:4]
    dtype = {user_col: str, item_col: str, rating_col: np.float64, time_col: np.int64}
    users, items = Vocabulary(), Vocabulary()
    parts = []
    with reading(path, layout):
        for chunk in read_delimited(path, layout, dtype, chunk_rows=chunk_rows):
            if chunk[user_col].isna().any() or chunk[item_col].isna().any():
                raise ValueError("empty user or item")
            parts.append(pd.DataFrame({
                "user": users.encode(chunk[user_col].to_numpy()),
                "item": items.encode(chunk[item_col].to_numpy()),
                "rating": chunk[rating_col].to_numpy(),
                "timestamp": chunk[time_col].to_numpy(),
            }))
    return pd.concat(parts, ignore_index=True), users, items, millis


# -------------------------------------------------------------------- metadata
def category_paths(record: dict[str, Any]) -> list[list[str]]:
    """The category paths of a metadata record, whatever the release (empty names dropped).

    2014 ``categories`` is a list of paths; 2018 ``category`` and 2023 ``categories``
    are one path (a list of strings).
    """
    raw = record.get("categories", record.get("category"))
    if not raw:
        return []
    if isinstance(raw, str):
        raw = [[raw]]
    elif all(isinstance(p, str) for p in raw):
        raw = [raw]
    paths = [[str(c).strip() for c in p] if isinstance(p, list | tuple) else [str(p).strip()] for p in raw]
    return [[c for c in p if c] for p in paths if any(p)]


def item_info(record: dict[str, Any], drop_root_category: bool = False,
              keep_empty_brand: bool = False) -> tuple[str | None, list[str]]:
    """``(category, attributes)`` of one metadata record.

    Attributes: the brand, then every path (without its first element when
    ``drop_root_category``). Category: the last element of the last path that is
    longer than its root; when every path is a root alone, that root (or none when
    roots are dropped).
    """
    paths = category_paths(record)
    brand = record.get("brand", record.get("store"))
    attributes = []
    if isinstance(brand, str) and (brand.strip() or (keep_empty_brand and "brand" in record)):
        attributes.append(brand.strip())
    for path in paths:
        attributes.extend(path[1:] if drop_root_category else path)
    deep = [p for p in paths if len(p) > 1]
    if deep:
        category: str | None = deep[-1][-1]
    else:
        category = paths[-1][-1] if paths and not drop_root_category else None
    return category, attributes


def read_metadata(
    path: PathLike, wanted: set[str], drop_root_category: bool = False, keep_empty_brand: bool = False,
) -> dict[str, tuple[str | None, list[str]]]:
    """asin -> ``(category, attributes)`` for the ``wanted`` items (the last record of an item wins)."""
    path = require_file(path, "Amazon metadata file")
    info: dict[str, tuple[str | None, list[str]]] = {}
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        match = _PARENT_ASIN.search(line) or _ASIN.search(line)
        if match is not None and match.group(1) not in wanted:
            continue
        record = parse_record(line, path, lineno)
        asin = record.get("parent_asin", record.get("asin"))
        if asin is None:
            raise DataFormatError(path, lineno, "metadata record without 'asin' / 'parent_asin'; "
                                  "is this an Amazon metadata file?")
        if str(asin) in wanted:
            info[str(asin)] = item_info(record, drop_root_category, keep_empty_brand)
    return info


# -------------------------------------------------------------------- convert
def convert_amazon(
    reviews: PathLike,
    meta: PathLike | None = None,
    preset: str | None = None,
    drop_root_category: bool | None = None,
    filters: dict[str, Any] | None = None,
    batch_lines: int = BATCH_LINES,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert Amazon reviews (+ metadata for categories) to a :class:`SequenceDataset`.

    Args:
        reviews: review JSON lines (2014/2018/2023) or ratings CSV, plain or gzip.
        meta: the matching metadata file, or ``None`` (no categories).
        preset: ``"s3rec"`` or ``None`` (see the module docstring).
        drop_root_category: drop the top-level category of each path (default:
            the preset's choice, else ``False``).
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`;
            explicit values override the preset's.
        batch_lines / chunk_rows: lines (JSON) / rows (CSV) parsed per batch.

    Returns:
        The dataset; raw user ids, asins and category names are kept as names.
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    preset_filters, options = PRESETS[preset] if preset else ({}, {})
    merged = dict(preset_filters)
    merged.update({k: v for k, v in (filters or {}).items() if v is not None and v is not False})
    if drop_root_category is None:
        drop_root_category = bool(options.get("drop_root_category", False))
    keep_empty_brand = bool(options.get("keep_empty_brand", False))

    reviews = require_file(reviews, "Amazon review file")
    frame, users, items, kind = read_reviews(reviews, batch_lines, chunk_rows)
    inputs = [file_provenance(reviews)]
    frame, applied = filter_interactions(frame, merged, reviews)
    meta_out: dict[str, Any] = {
        "source": "amazon", "layout": kind, "preset": preset, "inputs": inputs, "filters": applied,
        "timestamp_unit": "s",
    }
    attributes = None
    categories = Vocabulary()
    if meta is not None:
        meta = require_file(meta, "Amazon metadata file")
        codes = pd.unique(frame["item"].to_numpy())
        names = items.names
        wanted = {str(n) for n in names[codes]}
        info = read_metadata(meta, wanted, drop_root_category, keep_empty_brand)
        inputs.append(file_provenance(meta))
        if not info:
            example = next(iter(sorted(wanted)))
            raise DataFormatError(
                meta, None,
                f"none of the {len(wanted)} reviewed items of {reviews.name} (e.g. {example!r}) is in this "
                "metadata file; use the metadata of the same category and release",
            )
        category_code = np.full(len(items), -1, dtype=np.int64)  # (all items,) code or -1
        attributes = {}
        for code in codes.tolist():
            category, attrs = info.get(str(names[code]), (None, []))
            attributes[code] = attrs
            if category is not None:
                category_code[code] = categories.encode([category])[0]
        per_row = category_code[frame["item"].to_numpy()]
        frame = frame.assign(category=pd.arrays.IntegerArray(np.maximum(per_row, 0), per_row < 0))
        meta_out["category_rule"] = "last category of the item's path(s)" + (
            ", top level dropped" if drop_root_category else "")
        meta_out["attribute_rule"] = "brand, then the category path(s)"
        meta_out["items_with_metadata"] = len(info)
    dataset = dataset_from_interactions(frame, item_attributes=attributes, meta=meta_out)
    if meta is not None:
        without = int((dataset.item_category[1:] == 0).sum())
        if without:
            dataset.meta["items_without_category"] = without
    return restore_names(dataset, users=users, items=items, categories=categories if meta else None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reviews", required=True, metavar="FILE",
                        help="reviews JSON lines (2014/2018/2023) or ratings CSV, plain or .gz")
    parser.add_argument("--meta", default=None, metavar="FILE",
                        help="metadata of the same category and release (for categories and attributes)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="s3rec: 5-core, top-level category dropped (S3-Rec/ICLRec/S4Rec data)")
    parser.add_argument("--drop-root-category", action="store_true", default=None,
                        help="drop the top-level category of each path (on with --preset s3rec)")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    return convert_amazon(args.reviews, args.meta, preset=args.preset,
                          drop_root_category=args.drop_root_category, filters=filters)
