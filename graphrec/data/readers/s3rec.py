"""S3Rec / ICLRec / S4Rec text format: ``<Name>.txt`` + ``<Name>_item2attributes.json``.

Format (Zhou et al., "S3-Rec", CIKM 2020; reused by CoSeRec, ICLRec, S4Rec):

* ``<Name>.txt``: one user per line, ``user_id item_1 item_2 ... item_n``,
  space separated, items in time order, integer ids from 1 (0 is padding);
* ``<Name>_item2attributes.json``: ``{"item_id": [attr_id, ...]}`` for every item.
  On the Amazon releases each list is the brand (when frequent) followed by the
  category path from the top down, so the **last** entry is the item's most
  specific category.

Reading rules:

* the item's single category is the last entry of its attribute list; the whole
  list is kept as multi-valued attributes (ids renumbered ``1..A`` in order of
  first appearance over items ``1..N``; categories likewise ``1..C``);
* when the file's item ids are exactly ``1..N`` (after filters), they are kept,
  so that item ``i`` here is item ``i`` in the papers' code; otherwise items are
  numbered in order of first appearance and ``item_names`` holds the file ids;
* users keep the file order (``user_names`` holds the file's user ids);
* attribute ids must be JSON integers in flat lists: ``null``, ``true``, ``"a"``,
  ``1.5`` or a nested list is an error naming the item key and the value;
* both files may be compressed (``Beauty.txt.gz``, ``.bz2``, a one-file ``.zip``)
  and may start with a UTF-8 byte-order mark (:mod:`graphrec.data.readers.files`).

Parsing is one ``split`` per line plus vectorised numpy; Beauty (198,502
interactions) loads in about a second.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.atomic import write_text_atomic
from graphrec.data.csr import slice_positions
from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.filters import apply_filters
from graphrec.data.interactions import dataset_from_interactions
from graphrec.data.readers.files import COMPRESSED_SUFFIXES, open_text, plain_name, read_text, stream_errors
from graphrec.data.readers.parsing import parse_numbers
from graphrec.data.readers.table import file_provenance, require_nonempty

logger = logging.getLogger(__name__)

DESCRIPTION = "S3Rec/ICLRec text (<Name>.txt: 'user item item ...') + <Name>_item2attributes.json"
EXAMPLES = """\
  graphrec prepare s3rec --input ../shared/data/amazon-beauty/Beauty.txt --out data/beauty
  graphrec prepare s3rec --input Sports.txt --attributes Sports_item2attributes.json --out data/sports
  graphrec prepare s3rec --input Toys.txt --attributes none --min-length 5 --out data/toys
"""

ATTRIBUTES_SUFFIX = "_item2attributes.json"
_EXAMPLES_SHOWN = 5


def attributes_path_for(sequence_file: str | os.PathLike[str]) -> Path:
    """The attribute file that belongs to ``<dir>/<Name>.txt``: ``<dir>/<Name>_item2attributes.json``.

    A compressed sequence file (``<Name>.txt.gz``) has the same ``<Name>``; the
    attribute file found is the plain one, else a compressed one
    (``<Name>_item2attributes.json.gz``, ...), else the plain name (which does not exist).
    """
    path = Path(sequence_file)
    plain = path.with_name(Path(plain_name(path)).stem + ATTRIBUTES_SUFFIX)
    for candidate in (plain, *(plain.with_name(plain.name + c) for c in COMPRESSED_SUFFIXES)):
        if candidate.is_file():
            return candidate
    return plain


# ---------------------------------------------------------------------- parsing
def _bad_token(token: str, count: int) -> str:
    return f"{token!r} is not an integer id (every token must be an integer; {count} bad tokens in the file)"


def parse_sequences(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Parse ``user item item ...`` lines into a ``user``/``item`` frame (file order).

    Blank lines are skipped. Raises :class:`DataFormatError` for an empty file, a
    non-integer token, an item id below 1, a user without items or a user id
    that appears on two lines.
    """
    path = Path(path)
    require_nonempty(path)
    with stream_errors(path), open_text(path) as fh:
        rows = [line.split() for line in fh]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    line_numbers = np.nonzero(lengths)[0] + 1
    lengths = lengths[lengths > 0]
    if len(lengths) == 0:
        raise DataFormatError(path, None, "empty file (only blank lines)")
    tokens = list(chain.from_iterable(rows))
    token_line = np.repeat(line_numbers, lengths)
    values = parse_numbers(tokens, path, _bad_token, lines=token_line, integer=True)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if np.any(lengths == 1):
        bad = int(np.argmax(lengths == 1))
        raise DataFormatError(path, int(line_numbers[bad]), f"user {tokens[starts[bad]]} has no items")
    users = values[starts]
    duplicated = pd.Series(users).duplicated().to_numpy()
    if duplicated.any():
        bad = int(np.argmax(duplicated))
        first = int(line_numbers[int(np.argmax(users == users[bad]))])
        raise DataFormatError(
            path, int(line_numbers[bad]), f"user {users[bad]} already has a line (line {first})"
        )
    is_item = np.ones(len(values), dtype=bool)
    is_item[starts] = False
    items = values[is_item]
    if len(items) and items.min() < 1:
        index = int(np.nonzero(is_item & (values < 1))[0][0])
        raise DataFormatError(
            path, int(token_line[index]), f"item id {values[index]} < 1 (ids start at 1; 0 is padding)"
        )
    return pd.DataFrame({"user": np.repeat(users, lengths - 1), "item": items})


def parse_attributes(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``{"item_id": [attr, ...]}`` into ``(item_ids, lengths, values)``.

    ``item_ids`` (``M``,) int64 sorted, ``lengths`` (``M``,) and ``values`` (flat,
    int64, in the lists' order). Raises :class:`DataFormatError` naming the item
    key and the value for an attribute that is not an integer or a nested list.
    """
    path = Path(path)
    require_nonempty(path)
    try:
        with stream_errors(path):
            mapping = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DataFormatError(path, err.lineno, f"not valid JSON: {err.msg}") from err
    if not isinstance(mapping, dict):
        raise DataFormatError(path, None, f"expected a JSON object item_id -> [attributes], got "
                                          f"{type(mapping).__name__}")
    if not mapping:
        raise DataFormatError(path, None, "empty attribute mapping {}")
    keys = list(mapping.keys())
    try:
        item_ids = np.array(keys, dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next(k for k in keys if not _is_int64_text(k))
        raise DataFormatError(path, None, f"key {bad!r} is not an integer item id") from None
    lists = list(mapping.values())
    not_list = [k for k, v in zip(keys, lists, strict=True) if not isinstance(v, list)]
    if not_list:
        raise DataFormatError(
            path, None, f"{len(not_list)} items map to something other than a list, e.g. {not_list[0]!r}: "
                        f"{json.dumps(mapping[not_list[0]])[:80]}"
        )
    _check_attribute_values(path, keys, lists)
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    values = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    if len(np.unique(item_ids)) != len(item_ids):
        raise DataFormatError(path, None, "the same item id appears as two keys (e.g. '7' and '07')")
    starts = np.cumsum(lengths) - lengths
    order = np.argsort(item_ids, kind="stable")
    item_ids, lengths = item_ids[order], lengths[order]
    values = values[slice_positions(starts[order], starts[order] + lengths)[1]]
    return item_ids, lengths, values


def _is_int64_text(text: str) -> bool:
    try:
        return -(2**63) <= int(text) < 2**63
    except ValueError:
        return False


def _is_attribute_id(value: Any) -> bool:
    """A JSON integer that fits in int64 (``true`` is a bool in Python, not an id)."""
    return type(value) is int and -(2**63) <= value < 2**63


def _check_attribute_values(path: Path, keys: list[str], lists: list[list[Any]]) -> None:
    """Every attribute list must be flat and hold integer ids; name the first item that breaks this."""
    bad = [(key, lst) for key, lst in zip(keys, lists, strict=True)
           if not all(map(_is_attribute_id, lst))]
    if not bad:
        return
    key, lst = bad[0]
    value = next(v for v in lst if not _is_attribute_id(v))
    shown = json.dumps(value) if len(json.dumps(value)) <= 80 else json.dumps(value)[:77] + "..."
    if isinstance(value, list | dict):
        what = "a nested list (each item maps to a flat list of attribute ids)" if isinstance(value, list) \
            else "an object, not an attribute id"
    elif isinstance(value, int) and not isinstance(value, bool):
        what = "beyond the range of a 64-bit integer"
    else:
        what = "not an integer attribute id"
    raise DataFormatError(
        path, None, f"item {key!r}: attribute value {shown} is {what} ({len(bad)} items with such values); "
                    "attribute ids are integers, e.g. {\"1\": [3, 17]}",
    )


def _examples(values: np.ndarray) -> str:
    shown = ", ".join(str(v) for v in values[:_EXAMPLES_SHOWN])
    return shown + (", ..." if len(values) > _EXAMPLES_SHOWN else "")


def _check_attribute_items(path: Path, keys: np.ndarray, items: np.ndarray) -> None:
    present = np.unique(items)
    missing = np.setdiff1d(present, keys, assume_unique=True)
    extra = np.setdiff1d(keys, present, assume_unique=True)
    problems = []
    if len(missing):
        problems.append(f"{len(missing)} items of the sequence file have no attribute entry "
                        f"(e.g. {_examples(missing)})")
    if len(extra):
        problems.append(f"{len(extra)} attribute keys are not items of the sequence file "
                        f"(e.g. {_examples(extra)})")
    if problems:
        raise DataFormatError(
            path, None, "; ".join(problems) + "; is this the attribute file of the same dataset?"
        )


# ---------------------------------------------------------------------- reader
def read_s3rec(
    sequence_file: str | os.PathLike[str],
    attributes_file: str | os.PathLike[str] | None = None,
    filters: dict[str, Any] | None = None,
) -> SequenceDataset:
    """Read an S3Rec/ICLRec dataset (see the module docstring for the rules).

    Args:
        sequence_file: ``<Name>.txt``.
        attributes_file: ``<Name>_item2attributes.json`` or ``None`` (no categories).
            Its keys must be exactly the items of ``sequence_file`` (checked before
            filters).
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.

    Returns:
        The dataset, with ``meta`` = source, input files with sha256, filter records.
    """
    sequence_file = Path(sequence_file)
    frame = parse_sequences(sequence_file)
    inputs = [file_provenance(sequence_file)]
    attributes = None
    if attributes_file is not None:
        attributes_file = Path(attributes_file)
        attributes = parse_attributes(attributes_file)
        _check_attribute_items(attributes_file, attributes[0], frame["item"].to_numpy())
        inputs.append(file_provenance(attributes_file))
    frame, records = apply_filters(frame, **(filters or {}))
    meta: dict[str, Any] = {"source": "s3rec", "inputs": inputs, "filters": records}
    base = dataset_from_interactions(frame, sort_by_time=False, meta=meta)

    # restore the file's item ids when they are dense 1..N (assigned in first-appearance order)
    file_ids = np.array(base.item_names, dtype=np.int64)  # (N,) file id of dataset item i at [i - 1]
    items, item_names = base.items, base.item_names
    if file_ids.min() == 1 and file_ids.max() == base.num_items:
        items = file_ids[base.items - 1]
        file_ids = np.arange(1, base.num_items + 1, dtype=np.int64)
        item_names = [str(i) for i in file_ids]
        meta["item_ids"] = "file"
    else:
        meta["item_ids"] = "remapped in order of first appearance; item_names holds the file ids"

    category = attr_indptr = attr_values = category_names = None
    if attributes is not None:
        keys, lengths, values = attributes
        rows = np.searchsorted(keys, file_ids)  # (N,) row of each dataset item in the attribute table
        key_starts = np.cumsum(lengths) - lengths
        item_lengths = lengths[rows]
        raw = values[slice_positions(key_starts[rows], key_starts[rows] + item_lengths)[1]]
        codes, _ = pd.factorize(raw, sort=False)
        attr_values = codes.astype(np.int64) + 1
        attr_indptr = np.concatenate([[0, 0], np.cumsum(item_lengths)]).astype(np.int64)
        known = item_lengths > 0
        last = raw[(attr_indptr[2:] - 1)[known]] if len(raw) else raw[:0]
        cat_codes, cat_uniques = pd.factorize(last, sort=False)
        category = np.zeros(base.num_items + 1, dtype=np.int64)
        category[1:][known] = cat_codes + 1
        category_names = [str(c) for c in cat_uniques]
        meta["num_attributes"] = int(attr_values.max(initial=0))
        meta["category_rule"] = "last attribute of each item"
        if (~known).any():
            meta["items_without_attributes"] = int((~known).sum())
    return SequenceDataset(
        indptr=base.indptr,
        items=items,
        num_items=base.num_items,
        item_category=category,
        attr_indptr=attr_indptr,
        attr_values=attr_values,
        user_names=base.user_names,
        item_names=item_names,
        category_names=category_names,
        meta=meta,
    )


# ---------------------------------------------------------------------- writer
def _category_is_last_attribute(dataset: SequenceDataset) -> bool:
    """True when each item's category is a one-to-one function of its last attribute."""
    if dataset.attr_indptr is None or dataset.attr_values is None:
        return False
    assert dataset.item_category is not None
    lengths = np.diff(dataset.attr_indptr)[1:]  # (N,)
    category = dataset.item_category[1:]
    known = lengths > 0
    if np.any(category[~known] != 0) or np.any(category[known] == 0):
        return False
    last = dataset.attr_values[dataset.attr_indptr[2:][known] - 1]
    pairs = np.unique(np.stack([last, category[known]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def write_s3rec(
    dataset: SequenceDataset, directory: str | os.PathLike[str], name: str
) -> tuple[Path, Path]:
    """Write ``<directory>/<name>.txt`` and ``<directory>/<name>_item2attributes.json``.

    Item ids are the dataset's ids. Users are written with their ``user_names``
    when those are all integers, else as ``1..U``. When each item's category is
    its last attribute (any dataset read from this format), the attributes are
    written as they are and reading the files back gives the same dataset
    (same :meth:`~SequenceDataset.checksum`). Otherwise the category is appended
    to each item's attribute list as attribute ``A + c`` (``A`` = largest
    attribute id), so reading back gives the same sequences and categories, with
    the category also among the attributes. Timestamps are not part of the format.

    Returns:
        The two paths written (each atomically: temp file, then rename).
    """
    lengths = dataset.lengths
    if np.any(lengths == 0):
        raise ValueError(
            f"{int((lengths == 0).sum())} users have no items; the S3Rec format cannot hold them"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    user_ids: np.ndarray = np.arange(1, dataset.num_users + 1).astype(str)
    if dataset.user_names is not None:
        names = np.asarray(dataset.user_names, dtype=str)
        if all(np.char.isdigit(names)) and len(np.unique(names)) == len(names):
            user_ids = names
    tokens = np.insert(dataset.items.astype(str), dataset.indptr[:-1], user_ids)
    separators = np.full(len(tokens), " ", dtype="<U1")
    separators[dataset.indptr[1:] + np.arange(dataset.num_users)] = "\n"  # last token of each line
    sequence_path = directory / f"{name}.txt"
    write_text_atomic(sequence_path, "".join(np.char.add(tokens, separators).tolist()))

    assert dataset.item_category is not None
    if dataset.attr_indptr is not None and dataset.attr_values is not None:
        attr_indptr, attr_values = dataset.attr_indptr, dataset.attr_values
    else:
        attr_indptr = np.zeros(dataset.num_items + 2, dtype=np.int64)
        attr_values = np.zeros(0, dtype=np.int64)
    if not _category_is_last_attribute(dataset):
        offset = int(attr_values.max(initial=0))
        has_category = (dataset.item_category > 0).astype(np.int64)  # (N + 1,)
        extra = np.concatenate([[0], np.cumsum(has_category)])  # appended entries before each item
        lengths_attr = np.diff(attr_indptr) + has_category
        new_indptr = np.concatenate([[0], np.cumsum(lengths_attr)])
        new_values = np.empty(int(new_indptr[-1]), dtype=np.int64)
        keep = np.arange(len(attr_values)) + np.repeat(extra[:-1], np.diff(attr_indptr))
        new_values[keep] = attr_values
        with_cat = np.nonzero(has_category)[0]
        new_values[new_indptr[with_cat + 1] - 1] = offset + dataset.item_category[with_cat]
        attr_indptr, attr_values = new_indptr, new_values
    per_item = np.split(attr_values, attr_indptr[1:-1])[1:]  # items 1..N
    mapping = {str(i): lst.tolist() for i, lst in enumerate(per_item, start=1)}
    attributes_path = directory / f"{name}{ATTRIBUTES_SUFFIX}"
    write_text_atomic(attributes_path, json.dumps(mapping))
    return sequence_path, attributes_path


# ------------------------------------------------------------------ source contract
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE", help="<Name>.txt sequence file")
    parser.add_argument(
        "--attributes", default="auto", metavar="FILE",
        help="item -> attributes JSON; 'auto' (default) = <Name>_item2attributes.json beside the input "
             "when it exists, 'none' = no categories",
    )


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    attributes: Path | None
    if args.attributes == "none":
        attributes = None
    elif args.attributes == "auto":
        attributes = attributes_path_for(args.input)
        if not attributes.is_file():
            logger.warning("no attribute file %s; the dataset will have no categories", attributes)
            attributes = None
    else:
        attributes = Path(args.attributes)
    return read_s3rec(args.input, attributes, filters=filters)
