"""RecBole atomic files: ``<name>.inter`` (+ optional ``<name>.item``).

Format (Zhao et al., "RecBole", CIKM 2021, atomic files): tab-separated text
whose first line is a typed header ``name:type`` per column, with ``type`` one of
``token``, ``token_seq``, ``float``, ``float_seq``. For example ``ml-100k.inter``::

    user_id:token   item_id:token   rating:float    timestamp:float
    196             242             3               881250949

and ``ml-100k.item``::

    item_id:token   movie_title:token_seq   release_year:token      class:token_seq
    1               Toy Story               1995                    Animation Children's Comedy

Reading rules: each user's interactions are sorted by timestamp (stable, file
order breaks ties); users and items are numbered in order of first appearance
(raw tokens kept as ``user_names`` / ``item_names``). When the ``.item`` file has
a genre-like ``token_seq`` column (``class``, ``genre``, ``categories``, ...),
its first token is the item's single category and all its tokens are the
item's attributes. Items absent from ``.item`` get category 0 (counted in meta).

Files are read as they are shipped or downloaded (:mod:`graphrec.data.readers.files`):
plain or compressed (``ml-1m.inter.gz``, ``.bz2``, a one-file ``.zip``), with or
without a UTF-8 byte-order mark. A ``float`` value that is not finite, or a
timestamp beyond the 64-bit integer range, is an error at its line.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.filters import apply_filters
from graphrec.data.interactions import dataset_from_interactions
from graphrec.data.readers.files import COMPRESSED_SUFFIXES, open_binary, open_text, plain_name, stream_errors
from graphrec.data.readers.parsing import Lines, TableLines, empty_id_problem, parse_numbers, raise_first_bad
from graphrec.data.readers.table import file_provenance, require_nonempty

logger = logging.getLogger(__name__)

DESCRIPTION = "RecBole atomic files: <name>.inter (typed tab-separated header) + optional <name>.item"
EXAMPLES = """\
  graphrec prepare recbole --input ../shared/data/ml-100k --out data/ml-100k
  graphrec prepare recbole --input ml-1m/ml-1m.inter --min-rating 4 --kcore 5 --out data/ml-1m
"""

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")
CATEGORY_FIELDS = ("class", "genre", "genres", "categories", "category")


def parse_header(path: Path, line: str) -> list[tuple[str, str]]:
    """``[(name, type), ...]`` from a typed header line; raises on an unreadable header."""
    fields = []
    for column in line.rstrip("\r\n").split("\t"):
        name, sep, kind = column.strip().rpartition(":")
        if not sep or not name or kind not in FIELD_TYPES:
            raise DataFormatError(
                path, 1,
                f"unreadable header: column {column!r} is not 'name:type' with type in {list(FIELD_TYPES)} "
                f"(header: {line.strip()!r})",
            )
        fields.append((name, kind))
    return fields


def read_atomic(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read one atomic file as strings; returns ``(frame, {column: type})``."""
    path = Path(path)
    require_nonempty(path)
    with stream_errors(path), open_text(path) as fh:
        header = fh.readline()
    fields = parse_header(path, header)
    names = [name for name, _ in fields]
    try:
        with stream_errors(path), open_binary(path) as raw:
            frame = pd.read_csv(
                raw, sep="\t", header=None, skiprows=1, names=names, dtype=str, encoding="utf-8",
                keep_default_na=False, quoting=csv.QUOTE_NONE, engine="c",
            )
    except pd.errors.ParserError as err:
        raise DataFormatError(path, None, f"rows do not match the {len(names)}-column header: {err}") from err
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({name: pd.Series(dtype=str) for name in names})
    return frame, dict(fields)


def _require(path: Path, types: dict[str, str], name: str, role: str) -> None:
    if name not in types:
        found = [f"{n}:{t}" for n, t in types.items()]
        raise DataFormatError(path, 1, f"no {role} column {name!r}; columns found: {found}")


def _numbers(frame: pd.DataFrame, column: str, path: Path, lines: Lines, int64: bool = False) -> np.ndarray:
    return parse_numbers(
        frame[column], path,
        lambda token, count: f"{column} = {token!r} is not a number ({count} such rows)",
        lines=lines, int64=int64, what=f"column {column!r}",
    )


def _atomic_files(directory: Path, suffix: str) -> list[Path]:
    """Files ``*<suffix>`` of ``directory``, plain or compressed (``x.inter``, ``x.inter.gz``, ...)."""
    endings = (suffix, *(suffix + c for c in COMPRESSED_SUFFIXES))
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.lower().endswith(endings))


def _sibling(path: Path, suffix: str) -> Path | None:
    """``<name><suffix>`` beside ``<name>.inter[.gz]``, plain or compressed, when there is one."""
    stem = plain_name(path)[: -len(".inter")] if plain_name(path).lower().endswith(".inter") else path.stem
    for candidate in (stem + suffix, *(stem + suffix + c for c in COMPRESSED_SUFFIXES)):
        if (path.parent / candidate).is_file():
            return path.parent / candidate
    return None


def _locate(directory_or_inter_file: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """The ``.inter`` file and its ``.item`` sibling (``None`` when there is none)."""
    path = Path(directory_or_inter_file)
    if path.is_dir():
        candidates = _atomic_files(path, ".inter")
        preferred = [c for c in candidates if plain_name(c) == f"{path.name}.inter"]
        candidates = preferred or candidates
        if len(candidates) != 1:
            raise DataFormatError(
                path, None,
                f"expected one .inter file in the directory, found {[c.name for c in candidates]}",
            )
        path = candidates[0]
    return path, _sibling(path, ".item")


def read_recbole(
    directory_or_inter_file: str | os.PathLike[str],
    filters: dict[str, Any] | None = None,
    user_field: str = "user_id",
    item_field: str = "item_id",
    time_field: str | None = "timestamp",
    rating_field: str = "rating",
    category_field: str | None = None,
) -> SequenceDataset:
    """Read RecBole atomic files and build the canonical dataset.

    Args:
        directory_or_inter_file: a ``.inter`` file, or a directory holding
            ``<dirname>.inter`` (or exactly one ``.inter``); ``<name>.item`` beside
            it is used when present.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.
        user_field / item_field: id columns of ``.inter``.
        time_field: time column; when ``None`` or absent the file order is kept.
        rating_field: rating column (used by the rating filter when present).
        category_field: ``token_seq`` column of ``.item`` holding the genres;
            ``None`` picks the first of ``class``, ``genre``, ``genres``,
            ``categories``, ``category`` that exists.

    Returns:
        The dataset; ``meta`` records the source, input files with sha256, filters.
    """
    inter_path, item_path = _locate(directory_or_inter_file)
    raw, types = read_atomic(inter_path)
    _require(inter_path, types, user_field, "user")
    _require(inter_path, types, item_field, "item")
    if len(raw) == 0:
        raise DataFormatError(inter_path, None, "the header has no rows below it (no interactions)")
    lines = TableLines(inter_path, "\t", quoting=csv.QUOTE_NONE)
    frame = pd.DataFrame({"user": raw[user_field].to_numpy(), "item": raw[item_field].to_numpy()})
    for role in ("user", "item"):
        empty = (frame[role] == "").to_numpy()
        raise_first_bad(inter_path, frame[role], empty, lines, empty_id_problem(role))
    has_time = time_field is not None and time_field in types
    if has_time:
        assert time_field is not None
        frame["timestamp"] = _numbers(raw, time_field, inter_path, lines, int64=True)
    if rating_field in types:
        frame["rating"] = _numbers(raw, rating_field, inter_path, lines)
    inputs = [file_provenance(inter_path)]
    meta: dict[str, Any] = {"source": "recbole", "inputs": inputs}
    if not has_time:
        meta["order"] = "file order (no timestamp column)"

    item_category = item_attributes = None
    if item_path is not None:
        item_frame, item_types = read_atomic(item_path)
        _require(item_path, item_types, item_field, "item")
        if category_field is None:
            category_field = next((c for c in CATEGORY_FIELDS if c in item_types), None)
        elif category_field not in item_types:
            _require(item_path, item_types, category_field, "category")
        inputs.append(file_provenance(item_path))
        if category_field is not None:
            genres = item_frame[category_field].str.split()  # one list of tokens per row
            item_attributes = dict(zip(item_frame[item_field], genres, strict=True))
            first = genres.str[0]
            known = first.notna().to_numpy()
            item_category = dict(zip(item_frame[item_field][known], first[known], strict=True))
            meta["category_rule"] = f"first token of .item column {category_field!r}; all tokens = attributes"

    frame, records = apply_filters(frame, **(filters or {}))
    meta["filters"] = records
    dataset = dataset_from_interactions(
        frame, item_category=item_category, item_attributes=item_attributes, sort_by_time=True, meta=meta
    )
    if item_category is not None:
        assert dataset.item_category is not None
        unknown = int((dataset.item_category[1:] == 0).sum())
        if unknown:
            logger.warning("%s: %d items have no category in %s", inter_path, unknown, item_path)
            dataset.meta["items_without_category"] = unknown
    return dataset


# ------------------------------------------------------------------ source contract
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="PATH",
                        help="a .inter file or a directory with <dirname>.inter (+ .item)")
    parser.add_argument("--user-field", default="user_id", help="user column of .inter (default: user_id)")
    parser.add_argument("--item-field", default="item_id", help="item column (default: item_id)")
    parser.add_argument("--time-field", default="timestamp", help="time column (default: timestamp)")
    parser.add_argument("--category-field", default=None,
                        help="genre column of .item (default: class/genre/categories when present)")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    return read_recbole(
        args.input,
        filters=filters,
        user_field=args.user_field,
        item_field=args.item_field,
        time_field=args.time_field,
        category_field=args.category_field,
    )
