"""The canonical dataset: per-user, time-ordered item sequences in CSR form.

Every reader in graphrec produces a :class:`SequenceDataset`, every model and
protocol consumes one. Conventions:

* items are numbered ``1..num_items``; ``0`` is padding and never a real item;
* users are numbered ``0..num_users-1``;
* ``indptr`` (``U + 1``) and ``items`` (``nnz``) hold the sequences in CSR form:
  the sequence of user ``u`` is ``items[indptr[u]:indptr[u + 1]]``, oldest first;
* ``item_category`` (``num_items + 1``) holds one category per item, ``0`` = unknown
  (categories are numbered ``1..num_categories``);
* optional multi-valued attributes in CSR form over items
  (``attr_indptr``: ``num_items + 2``, ``attr_values``);
* optional ``timestamps`` aligned with ``items``;
* optional ``user_split`` (``U``, int8: 0 = train, 1 = valid, 2 = test) when the
  source ships its own user split (e.g. the ComiRec releases);
* ``meta``: counts, source, filters applied and a content checksum.

On disk a dataset is one directory with ``arrays.npz``, ``meta.json``,
``names.json`` and the marker file of :mod:`graphrec.outputs` (kind ``"dataset"``).
It is written to a temporary sibling directory ``.<name>.tmp-<pid>-<random>``,
marker included, flushed to disk and renamed into place, so an interrupted write leaves the
previous good copy intact and a finished dataset always carries its marker.
Temporary folders a killed earlier save left beside the target are removed at
the next save (only folders named by that pattern, holding only these files, of
a process that no longer runs).

graphrec replaces only a folder it made: :meth:`SequenceDataset.save` refuses a
path that is a file, a non-empty folder without the marker (a user's folder, or
a dataset prepared by an older version: these still load) and, unless
``overwrite``, an earlier dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.atomic import fsync_folder, replace_directory
from graphrec.data.dataset_dir import DATASET_KIND, check_dataset_dir, remove_stale_temporaries
from graphrec.data.errors import DataFormatError
from graphrec.outputs import read_marker, write_marker

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_ARRAY_FIELDS = (
    "indptr", "items", "item_category", "timestamps", "attr_indptr", "attr_values", "user_split",
)
#: meta.json keys written by :meth:`SequenceDataset.save` from the arrays (not provenance)
_COUNT_KEYS = ("num_users", "num_interactions", "num_categories", "avg_length", "min_length",
               "max_length", "has_timestamps", "has_attributes", "checksum", "format_version")


@dataclass
class SequenceDataset:
    """Per-user item sequences (CSR) with item categories and attributes.

    Args:
        indptr: ``(U + 1,)`` int64 offsets into ``items``.
        items: ``(nnz,)`` int64 item ids in ``1..num_items``, time-ordered per user.
        num_items: number of real items ``N`` (ids ``1..N``).
        item_category: ``(N + 1,)`` int64 category per item, ``0`` = unknown/padding.
        timestamps: optional ``(nnz,)`` int64 timestamps aligned with ``items``.
        attr_indptr: optional ``(N + 2,)`` int64 CSR offsets of item attributes.
        attr_values: optional ``(nnz_attr,)`` int64 attribute ids (``1..``).
        user_split: optional ``(U,)`` int8 fixed user split (0 train, 1 valid, 2 test).
        user_names: optional original user ids, one per user.
        item_names: optional original item ids, ``item_names[i - 1]`` for item ``i``.
        category_names: optional names, ``category_names[c - 1]`` for category ``c``.
        meta: free-form provenance (source, filters, ...); counts and checksum are
            filled in by :meth:`save`.
    """

    indptr: np.ndarray
    items: np.ndarray
    num_items: int
    item_category: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    attr_indptr: np.ndarray | None = None
    attr_values: np.ndarray | None = None
    user_split: np.ndarray | None = None
    user_names: list[str] | None = None
    item_names: list[str] | None = None
    category_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indptr = np.asarray(self.indptr, dtype=np.int64)
        self.items = np.asarray(self.items, dtype=np.int64)
        self.num_items = int(self.num_items)
        if self.item_category is None:
            self.item_category = np.zeros(self.num_items + 1, dtype=np.int64)
        self.item_category = np.asarray(self.item_category, dtype=np.int64)
        if self.timestamps is not None:
            self.timestamps = np.asarray(self.timestamps, dtype=np.int64)
        if self.attr_indptr is not None:
            self.attr_indptr = np.asarray(self.attr_indptr, dtype=np.int64)
            self.attr_values = np.asarray(self.attr_values, dtype=np.int64)
        if self.user_split is not None:
            self.user_split = np.asarray(self.user_split, dtype=np.int8)
        self.validate()

    # ------------------------------------------------------------------ counts
    @property
    def num_users(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_interactions(self) -> int:
        return len(self.items)

    @property
    def num_categories(self) -> int:
        assert self.item_category is not None
        return int(self.item_category.max(initial=0))

    @property
    def has_categories(self) -> bool:
        return self.num_categories > 0

    @property
    def lengths(self) -> np.ndarray:
        """``(U,)`` sequence length of every user."""
        return np.diff(self.indptr)

    def sequence(self, user: int) -> np.ndarray:
        """The time-ordered item ids of ``user``."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def sequences(self) -> list[np.ndarray]:
        """All sequences as a list of views (for small data and tests)."""
        return np.split(self.items, self.indptr[1:-1])

    def item_attributes(self, item: int) -> np.ndarray:
        if self.attr_indptr is None or self.attr_values is None:
            return np.zeros(0, dtype=np.int64)
        return self.attr_values[self.attr_indptr[item] : self.attr_indptr[item + 1]]

    def item_popularity(self) -> np.ndarray:
        """``(N + 1,)`` number of interactions per item (index 0 = padding = 0)."""
        return np.bincount(self.items, minlength=self.num_items + 1)

    # -------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check the invariants listed in the module docstring; raise ValueError."""
        if self.indptr.ndim != 1 or len(self.indptr) < 1 or self.indptr[0] != 0:
            raise ValueError("indptr must be a 1-D array starting at 0")
        if np.any(np.diff(self.indptr) < 0):
            raise ValueError("indptr must be non-decreasing")
        if self.indptr[-1] != len(self.items):
            raise ValueError(f"indptr[-1] = {self.indptr[-1]} but there are {len(self.items)} items")
        if len(self.items) and (self.items.min() < 1 or self.items.max() > self.num_items):
            raise ValueError(f"item ids must lie in 1..{self.num_items} (0 is padding)")
        assert self.item_category is not None
        if len(self.item_category) != self.num_items + 1:
            raise ValueError(
                f"item_category has {len(self.item_category)} entries, expected num_items + 1 = "
                f"{self.num_items + 1}"
            )
        if self.item_category.min(initial=0) < 0:
            raise ValueError("item_category must be >= 0 (0 = unknown)")
        if self.timestamps is not None and len(self.timestamps) != len(self.items):
            raise ValueError("timestamps must align with items")
        if self.user_split is not None and len(self.user_split) != self.num_users:
            raise ValueError("user_split must have one entry per user")
        if self.attr_indptr is not None:
            if len(self.attr_indptr) != self.num_items + 2:
                raise ValueError("attr_indptr must have num_items + 2 entries")
            assert self.attr_values is not None
            if self.attr_indptr[-1] != len(self.attr_values):
                raise ValueError("attr_indptr[-1] must equal len(attr_values)")

    # ---------------------------------------------------------------- checksum
    def checksum(self) -> str:
        """sha256 over the content arrays (order-sensitive), hex, first 16 chars."""
        digest = hashlib.sha256()
        digest.update(str(self.num_items).encode())
        for name in _ARRAY_FIELDS:
            value = getattr(self, name)
            digest.update(name.encode())
            if value is not None:
                digest.update(np.ascontiguousarray(value).astype(np.int64).tobytes())
        return digest.hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        lengths = self.lengths
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "num_interactions": self.num_interactions,
            "num_categories": self.num_categories,
            "avg_length": round(float(lengths.mean()) if len(lengths) else 0.0, 3),
            "min_length": int(lengths.min()) if len(lengths) else 0,
            "max_length": int(lengths.max()) if len(lengths) else 0,
            "has_timestamps": self.timestamps is not None,
            "has_attributes": self.attr_indptr is not None,
            "checksum": self.checksum(),
        }

    # ------------------------------------------------------------------- I/O
    def save(self, directory: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write ``arrays.npz`` + ``meta.json`` + ``names.json`` + the marker atomically to ``directory``.

        The files are written into a temporary sibling directory which then
        replaces ``directory`` by rename; the old copy is removed only after the
        new one is complete. Temporary folders of a killed earlier save are removed first.

        Args:
            directory: the dataset folder; it may not exist yet, or be empty.
            overwrite: replace an earlier dataset in ``directory`` (one graphrec made,
                recognised by its marker file).

        Raises:
            OutputError: ``directory`` is a file, a folder graphrec did not make, a
                dataset of an older version (no marker), or an earlier dataset
                without ``overwrite``.
        """
        target = Path(directory)
        check_dataset_dir(target, overwrite=overwrite, what="dataset folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
        try:
            arrays = {n: getattr(self, n) for n in _ARRAY_FIELDS if getattr(self, n) is not None}
            np.savez(tmp / "arrays.npz", **arrays)
            meta = dict(self.meta)
            meta.update(self.summary())
            meta["format_version"] = FORMAT_VERSION
            names = {
                "user_names": self.user_names,
                "item_names": self.item_names,
                "category_names": self.category_names,
            }
            with open(tmp / "names.json", "w", encoding="utf-8") as fh:
                json.dump({k: v for k, v in names.items() if v is not None}, fh)
            with open(tmp / "meta.json", "w", encoding="utf-8") as fh:
                json.dump(meta, fh, indent=2, sort_keys=True, default=str)
            write_marker(tmp, DATASET_KIND)
            fsync_folder(tmp)
            replace_directory(tmp, target)
            fsync_folder(target.parent, directory=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> SequenceDataset:
        """Load a dataset written by :meth:`save` (with or without a marker); verifies the checksum.

        Raises:
            DataFormatError: naming the file and the problem: ``meta.json`` missing,
                not JSON or without ``num_items``; ``arrays.npz`` missing, truncated
                or corrupt, or with arrays that break the dataset's invariants;
                ``names.json`` unreadable; a checksum mismatch.
        """
        path = Path(directory)
        meta = _load_meta(path)
        arrays = _load_arrays(path / "arrays.npz")
        names = _load_names(path / "names.json")
        try:
            dataset = cls(
                num_items=meta["num_items"],
                meta={k: v for k, v in meta.items() if k not in _COUNT_KEYS and k != "num_items"},
                user_names=names.get("user_names"),
                item_names=names.get("item_names"),
                category_names=names.get("category_names"),
                **arrays,
            )
        except (TypeError, ValueError) as err:
            raise DataFormatError(
                path / "arrays.npz", None, f"does not hold a valid dataset ({err}); the dataset is corrupt, "
                                           "prepare it again",
            ) from err
        for key, count in (("user_names", dataset.num_users), ("item_names", dataset.num_items),
                           ("category_names", dataset.num_categories)):
            listed = names.get(key)
            if listed is not None and len(listed) != count:
                raise DataFormatError(path / "names.json", None,
                                      f"lists {len(listed)} {key.replace('_', ' ')} for {count}; "
                                      + _PREPARE_AGAIN)
        if meta.get("checksum") and dataset.checksum() != meta["checksum"]:
            raise DataFormatError(
                path / "arrays.npz", None,
                f"content checksum {dataset.checksum()} does not match meta.json ({meta['checksum']}); "
                "the dataset is corrupt, prepare it again",
            )
        return dataset

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_sequences(
        cls,
        sequences: list[list[int]] | list[np.ndarray],
        num_items: int | None = None,
        item_category: np.ndarray | list[int] | None = None,
        **kwargs: Any,
    ) -> SequenceDataset:
        """Build from a list of item-id lists (ids already in ``1..N``)."""
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        items = (
            np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])
            if len(sequences) else np.zeros(0, dtype=np.int64)
        )
        if num_items is None:
            num_items = int(items.max(initial=0))
        category = None if item_category is None else np.asarray(item_category, dtype=np.int64)
        return cls(indptr=indptr, items=items, num_items=num_items, item_category=category, **kwargs)


_PREPARE_AGAIN = "prepare it again (graphrec prepare ... --overwrite)"


def _load_meta(path: Path) -> dict[str, Any]:
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        if (path / "arrays.npz").is_file() or (read_marker(path) or {}).get("kind") == DATASET_KIND:
            raise DataFormatError(meta_path, None, "missing: the prepared dataset is incomplete or damaged; "
                                  + _PREPARE_AGAIN)
        raise DataFormatError(
            meta_path, None, "not a prepared graphrec dataset (no meta.json); run `graphrec prepare`"
        )
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DataFormatError(meta_path, None, f"not UTF-8 text ({err.reason}): the file is damaged; "
                              + _PREPARE_AGAIN) from err
    except json.JSONDecodeError as err:
        raise DataFormatError(meta_path, err.lineno, f"not valid JSON ({err.msg}): the file is damaged or "
                              "was cut short; " + _PREPARE_AGAIN) from err
    if not isinstance(meta, dict):
        raise DataFormatError(meta_path, None, f"expected a JSON object, found {type(meta).__name__}; "
                              + _PREPARE_AGAIN)
    if not isinstance(meta.get("num_items"), int) or isinstance(meta.get("num_items"), bool):
        raise DataFormatError(meta_path, None, f"no integer 'num_items' (found {meta.get('num_items')!r}); "
                              "the file is damaged; " + _PREPARE_AGAIN)
    return meta


def _load_arrays(npz_path: Path) -> dict[str, np.ndarray]:
    if not npz_path.is_file():
        raise DataFormatError(npz_path, None,
                              "missing: the prepared dataset is incomplete; " + _PREPARE_AGAIN)
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, KeyError) as err:
        raise DataFormatError(npz_path, None, f"truncated or corrupt ({type(err).__name__}: {err}); "
                              + _PREPARE_AGAIN) from err
    unknown = sorted(set(arrays) - set(_ARRAY_FIELDS))
    missing = [n for n in ("indptr", "items") if n not in arrays]
    if unknown or missing:
        raise DataFormatError(npz_path, None, f"unexpected arrays {unknown} / missing arrays {missing}; "
                              "not a graphrec dataset file, or a damaged one; " + _PREPARE_AGAIN)
    return arrays


def _load_names(names_path: Path) -> dict[str, list[str]]:
    if not names_path.is_file():
        return {}
    try:
        names = json.loads(names_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DataFormatError(names_path, None, f"not UTF-8 text ({err.reason}); " + _PREPARE_AGAIN) from err
    except json.JSONDecodeError as err:
        raise DataFormatError(names_path, err.lineno, f"not valid JSON ({err.msg}); " + _PREPARE_AGAIN) \
            from err
    if not isinstance(names, dict) or not all(isinstance(v, list) for v in names.values()):
        raise DataFormatError(names_path, None, "expected an object of name lists; " + _PREPARE_AGAIN)
    return names
