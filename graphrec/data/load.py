"""One entry point that turns a dataset spec into a :class:`SequenceDataset`.

``load_dataset(spec)`` accepts, in the order they are tried:

* ``"synthetic"``: the embedded generator (:mod:`graphrec.data.synthetic`),
  offline; keyword options are fields of
  :class:`~graphrec.data.synthetic.SyntheticConfig`;
* a prepared dataset directory (holds ``meta.json``, written by ``graphrec prepare``
  or :meth:`SequenceDataset.save`): loaded directly, checksum verified;
* an S3Rec/ICLRec directory: ``<Name>.txt`` + ``<Name>_item2attributes.json``
  (e.g. ``../shared/data/amazon-beauty``);
* a RecBole directory: ``*.inter`` (+ ``.item``) (e.g. ``../shared/data/ml-100k``);
* a single file: ``.txt`` (S3Rec, attribute file beside it used when present),
  ``.inter`` (RecBole), ``.csv`` / ``.tsv`` / ``.parquet`` (table with columns
  ``user``, ``item``, ``timestamp``).

Files may be compressed (``clicks.csv.gz``, ``Beauty.txt.bz2``, a one-file
``.zip``): the format is the suffix before the compression suffix
(:mod:`graphrec.data.readers.files`). A directory that holds ``arrays.npz`` or the
dataset marker but no ``meta.json`` is a damaged prepared dataset, reported as such.

Anything else raises :class:`~graphrec.data.errors.DataFormatError` saying what
was looked for and what was found. Raw files are read without filters: prepare
a filtered copy with ``graphrec prepare`` when filters are wanted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.readers.files import COMPRESSED_SUFFIXES, plain_name, plain_suffix
from graphrec.data.readers.recbole import read_recbole
from graphrec.data.readers.s3rec import ATTRIBUTES_SUFFIX, attributes_path_for, read_s3rec
from graphrec.data.readers.table import read_table
from graphrec.data.synthetic import generate_synthetic
from graphrec.outputs import read_marker

_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
_LOOKED_FOR = (
    "'synthetic', a prepared dataset directory (meta.json), an S3Rec directory "
    f"(<Name>.txt + <Name>{ATTRIBUTES_SUFFIX}), a RecBole directory (*.inter), or a file "
    "(.txt S3Rec, .inter RecBole, .csv/.tsv/.parquet table)"
)


def _first_file(directory: Path, name: str) -> Path | None:
    """``directory/name``, plain or compressed, when there is one."""
    for candidate in (name, *(name + c for c in COMPRESSED_SUFFIXES)):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def _s3rec_pairs(directory: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for attributes in sorted(directory.iterdir()):
        if not (attributes.is_file() and plain_name(attributes).endswith(ATTRIBUTES_SUFFIX)):
            continue
        sequences = _first_file(directory, plain_name(attributes)[: -len(ATTRIBUTES_SUFFIX)] + ".txt")
        if sequences is not None:
            pairs.append((sequences, attributes))
    return pairs


def _load_directory(path: Path) -> SequenceDataset | None:
    marker = read_marker(path) or {}
    if (path / "meta.json").is_file() or (path / "arrays.npz").is_file() or marker.get("kind") == "dataset":
        return SequenceDataset.load(path)  # a damaged prepared dataset is reported by load
    pairs = _s3rec_pairs(path)
    if len(pairs) > 1:
        raise DataFormatError(
            path, None, f"several S3Rec datasets in one directory: {[p[0].name for p in pairs]}; "
                        "pass the .txt file itself",
        )
    if pairs:
        return read_s3rec(*pairs[0])
    if any(plain_suffix(p) == ".inter" for p in path.iterdir() if p.is_file()):
        return read_recbole(path)
    return None


def _load_file(path: Path) -> SequenceDataset | None:
    suffix = plain_suffix(path)
    if path.name == "meta.json":
        return SequenceDataset.load(path.parent)
    if suffix == ".txt":
        attributes = attributes_path_for(path)
        return read_s3rec(path, attributes if attributes.is_file() else None)
    if suffix == ".inter":
        return read_recbole(path)
    if suffix in _TABLE_SUFFIXES:
        return read_table(path)
    return None


def load_dataset(spec: str | os.PathLike[str], **synthetic_options: Any) -> SequenceDataset:
    """Load the dataset named by ``spec`` (see the module docstring for what is accepted).

    Args:
        spec: ``"synthetic"`` or a path to a directory or file.
        synthetic_options: fields of :class:`~graphrec.data.synthetic.SyntheticConfig`
            (e.g. ``num_users=500, seed=1``); only with ``"synthetic"``.

    Raises:
        ValueError: ``synthetic_options`` given with a path, an option that is not a
            field of :class:`~graphrec.data.synthetic.SyntheticConfig` (the valid
            keys are listed) or invalid values.
        DataFormatError: the path does not exist or matches none of the formats.
    """
    if str(spec) == "synthetic":
        return generate_synthetic(**synthetic_options)
    if synthetic_options:
        raise ValueError(
            f"options {sorted(synthetic_options)} apply only to spec 'synthetic', not to {str(spec)!r}"
        )
    path = Path(spec)
    if not path.exists():
        raise DataFormatError(path, None, f"no such file or directory; expected {_LOOKED_FOR}")
    dataset = _load_directory(path) if path.is_dir() else _load_file(path)
    if dataset is None:
        found = sorted(p.name for p in path.iterdir())[:10] if path.is_dir() else [path.name]
        raise DataFormatError(
            path, None, f"not a recognised dataset; looked for {_LOOKED_FOR}; found {found}"
        )
    return dataset
