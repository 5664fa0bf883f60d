"""The contract between `graphrec prepare <source>` and the modules that read each source.

A source module (a reader in :mod:`graphrec.data.readers` or a converter in
``data_prep``) exposes:

* ``DESCRIPTION: str`` — one line for ``graphrec prepare --help``;
* ``EXAMPLES: str`` — example command lines for its ``--help``;
* ``add_arguments(parser)`` — its own options (input files, source-specific flags);
* ``from_args(args, filters) -> SequenceDataset`` — read, apply ``filters``
  (keyword arguments of :func:`graphrec.data.filters.apply_filters`) and build.

The command-line layer adds the shared options (``--out``, ``--overwrite``,
filters), checks before any work that ``--out`` is a folder graphrec may write
(:func:`graphrec.data.dataset_dir.check_dataset_dir`: not a file, not a folder graphrec
did not make, not a folder holding the inputs named by :func:`input_paths`) and
writes the result atomically. The library itself never reads ``sys.argv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: source name -> module implementing the contract above
SOURCES: dict[str, str] = {
    "s3rec": "graphrec.data.readers.s3rec",
    "recbole": "graphrec.data.readers.recbole",
    "table": "graphrec.data.readers.table",
    "synthetic": "graphrec.data.synthetic",
    "amazon": "data_prep.amazon",
    "movielens": "data_prep.movielens",
    "tafeng": "data_prep.tafeng",
    "tmall": "data_prep.tmall",
    "taobao": "data_prep.taobao",
    "comirec": "data_prep.comirec",
}


#: options of the source modules that name input files or folders
INPUT_OPTIONS = ("input", "attributes", "reviews", "meta", "movies")
#: values of those options that name no file
_NOT_PATHS = frozenset({"auto", "none"})


def input_paths(args: argparse.Namespace) -> list[Path]:
    """The input files and folders named on a ``graphrec prepare <source>`` command line."""
    values = (getattr(args, name, None) for name in INPUT_OPTIONS)
    return [Path(v) for v in values if v is not None and str(v).lower() not in _NOT_PATHS]


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters every source accepts; all off unless given."""
    group = parser.add_argument_group("filters (off unless given; each is logged and recorded in meta.json)")
    group.add_argument("--kcore", type=int, default=None, metavar="K",
                       help="iterative K-core on users and items")
    group.add_argument("--min-length", type=int, default=None, metavar="N",
                       help="drop users with fewer than N interactions")
    group.add_argument("--min-item-count", type=int, default=None, metavar="N",
                       help="drop items with fewer than N interactions (one pass, after --kcore, "
                            "before --min-length)")
    group.add_argument("--min-rating", type=float, default=None, metavar="R",
                       help="keep interactions with rating >= R")
    group.add_argument("--dedup", action="store_true",
                       help="drop an interaction that repeats the user's previous item")


def filters_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`graphrec.data.filters.apply_filters`."""
    return {
        "kcore_k": args.kcore,
        "min_length": args.min_length,
        "min_rating": args.min_rating,
        "dedup": bool(args.dedup),
        "min_item_count": args.min_item_count,
    }
