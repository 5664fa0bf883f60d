"""ComiRec release files (Cen et al., "Controllable Multi-Interest Framework for
Recommendation", KDD 2020) to the canonical dataset.

The ComiRec repository ships Amazon Books and Taobao already split by **user**
(8:1:1), in a folder such as ``book_data/`` with four files::

    book_train.txt       user_id,item_id,timestamp    (one event per line, no header)
    book_valid.txt       same, for the validation users
    book_test.txt        same, for the test users
    book_item_cate.txt   item_id,cate_id

The third field is what ComiRec's preprocessing writes there: the position of the
event in the user's time-ordered history (0, 1, 2, ...), not a clock time. It is
kept as ``timestamps`` and used to order each user's events (ties: file order).
``cate_id`` is the item's category (items absent from ``_item_cate.txt`` get 0).

With ``keep_split`` the dataset carries ComiRec's own user split in
``user_split`` (0 = the users of ``_train.txt``, 1 = ``_valid.txt``, 2 =
``_test.txt``), so the user-split protocol evaluates exactly their users; a user
found in two of the files is then an error. Without it the three files are simply
merged. Filters, when given, apply to the merged events (``user_split`` follows
the users that remain).

Example::

    from data_prep.comirec import convert_comirec
    dataset = convert_comirec("ComiRec/data/book_data", keep_split=True)
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_prep._common import (
    CHUNK_ROWS,
    Delimited,
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
from graphrec.data.errors import DataFormatError
from graphrec.data.interactions import dataset_from_interactions

DESCRIPTION = "ComiRec release folder (<name>_train/valid/test.txt, <name>_item_cate.txt)"
EXAMPLES = """\
  graphrec prepare comirec --input ComiRec/data/book_data --keep-split --out data/comirec-book
  graphrec prepare comirec --input ComiRec/data/taobao_data --name taobao --out data/comirec-taobao
"""

SPLITS = ("train", "valid", "test")
EVENT_LAYOUT = Delimited(
    columns=("user_id", "item_id", "timestamp"), integer=("user_id", "item_id", "timestamp"),
    hint="expected ComiRec lines 'user_id,item_id,timestamp'; fix or remove that line",
)
CATE_LAYOUT = Delimited(
    columns=("item_id", "cate_id"), integer=("item_id", "cate_id"),
    hint="expected ComiRec lines 'item_id,cate_id'; fix or remove that line",
)


def release_name(directory: PathLike) -> str:
    """The ``<name>`` of the single ``<name>_train.txt`` in ``directory``."""
    directory = Path(directory)
    names = sorted(p.name[: -len("_train.txt")] for p in directory.glob("*_train.txt"))
    if len(names) != 1:
        found = "no" if not names else f"several ({', '.join(names)})"
        raise DataFormatError(directory, None, f"{found} <name>_train.txt files here; pass the name")
    return names[0]


def _read_events(path: Path, chunk_rows: int) -> pd.DataFrame:
    dtype = dict.fromkeys(EVENT_LAYOUT.columns, np.int64)
    chunks = []
    with reading(path, EVENT_LAYOUT):
        for chunk in read_delimited(path, EVENT_LAYOUT, dtype, chunk_rows=chunk_rows):
            chunks.append(pd.DataFrame({
                "user": chunk["user_id"].to_numpy(),
                "item": chunk["item_id"].to_numpy(),
                "timestamp": chunk["timestamp"].to_numpy(),
            }))
    return pd.concat(chunks, ignore_index=True)


def convert_comirec(
    directory: PathLike,
    name: str | None = None,
    keep_split: bool = False,
    filters: dict[str, Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert a ComiRec release folder to a :class:`SequenceDataset`.

    Args:
        directory: the folder holding ``<name>_{train,valid,test}.txt`` and ``<name>_item_cate.txt``.
        name: the file prefix (``book``, ``taobao``); ``None`` finds the single ``*_train.txt``.
        keep_split: store ComiRec's user split in ``user_split``.
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`.
        chunk_rows: rows parsed per chunk.

    Returns:
        The dataset; user, item and category ids of the files are kept as names.
    """
    directory = Path(directory)
    name = name or release_name(directory)
    paths = [require_file(directory / f"{name}_{split}.txt", f"ComiRec {split} file") for split in SPLITS]
    cate_path = require_file(directory / f"{name}_item_cate.txt", "ComiRec item category file")
    parts = []
    for split, path in enumerate(paths):
        part = _read_events(path, chunk_rows)
        part["split"] = np.int8(split)
        parts.append(part)
    if keep_split:
        _check_disjoint(parts, paths)
    frame = pd.concat(parts, ignore_index=True)
    del parts

    dtype = dict.fromkeys(CATE_LAYOUT.columns, np.int64)
    with reading(cate_path, CATE_LAYOUT):
        cate = pd.concat(list(read_delimited(cate_path, CATE_LAYOUT, dtype, chunk_rows=chunk_rows)))
    categories = Vocabulary()
    by_item = pd.Series(categories.encode(cate["cate_id"].to_numpy()), index=cate["item_id"].to_numpy())
    by_item = by_item[~by_item.index.duplicated(keep="last")]
    mapped = frame["item"].map(by_item)
    if mapped.isna().all():
        raise DataFormatError(
            cate_path, None,
            f"none of the {frame['item'].nunique()} items of {paths[0].name} has a category here; use the "
            f"_item_cate.txt of the same release",
        )
    frame["category"] = pd.array(mapped, dtype="Int64")

    frame, applied = filter_interactions(frame, filters, paths[0])
    meta: dict[str, Any] = {
        "source": "comirec",
        "release": name,
        "inputs": [file_provenance(p) for p in [*paths, cate_path]],
        "filters": applied,
        "category_rule": f"{cate_path.name} (items absent from it: 0)",
        "timestamp_unit": "position in the user's history, as written by ComiRec",
    }
    dataset = dataset_from_interactions(frame, meta=meta)
    dataset = restore_names(dataset, categories=categories)
    without = int((dataset.item_category[1:] == 0).sum())
    if without:
        dataset.meta["items_without_category"] = without
    if keep_split:
        split_of = frame.groupby("user", sort=False)["split"].first()
        users = np.asarray(dataset.user_names, dtype=np.int64)
        user_split = split_of.loc[users].to_numpy().astype(np.int8)  # (U,)
        dataset.meta["user_split"] = {
            "rule": f"ComiRec's own: users of {name}_train/valid/test.txt",
            "counts": {s: int((user_split == i).sum()) for i, s in enumerate(SPLITS)},
        }
        dataset = dataclasses.replace(dataset, user_split=user_split)
    return dataset


def _check_disjoint(parts: list[pd.DataFrame], paths: list[Path]) -> None:
    """Each user must appear in one split file only."""
    seen = pd.unique(parts[0]["user"].to_numpy())
    for part, path in zip(parts[1:], paths[1:]):
        clash = np.isin(part["user"].to_numpy(), seen)
        if clash.any():
            row = int(np.argmax(clash))
            raise DataFormatError(
                path, row + 1,
                f"user {int(part['user'].iloc[row])} also appears in an earlier split file, so the files "
                "do not form a user split; convert without keep_split (--keep-split) to merge them",
            )
        seen = np.union1d(seen, part["user"].to_numpy())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="DIR", help="ComiRec data folder (e.g. book_data)")
    parser.add_argument("--name", default=None, help="file prefix (default: the single <name>_train.txt)")
    parser.add_argument("--keep-split", action="store_true",
                        help="keep ComiRec's train/valid/test users as the dataset's user_split")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    return convert_comirec(args.input, name=args.name, keep_split=args.keep_split, filters=filters)
