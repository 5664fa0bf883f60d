"""Shared machinery of the raw-dump converters: input files, streaming, errors, provenance.

Every converter in :mod:`data_prep` follows the same path:

1. check each input file (:func:`require_file`) and record it with its sha256
   (:func:`file_provenance`, stored in ``meta["inputs"]``);
2. stream it in bounded chunks — :func:`read_delimited` wraps pandas' chunked C
   reader, :func:`iter_lines` iterates text lines; both open the file as users
   download it, through :mod:`graphrec.data.readers.files` (plain, gzip, bzip2 or a
   one-file zip, decided by the first bytes, not the suffix; a UTF-8 byte-order
   mark dropped; quoted fields read as their text);
3. turn string ids into dense integer codes chunk by chunk (:class:`Vocabulary`),
   so that only the distinct ids are held as Python strings;
4. apply behaviour selections (:func:`selection_record`) and the shared filters
   (:func:`filter_interactions`), each recorded with its counts before and after;
5. build through :func:`graphrec.data.interactions.dataset_from_interactions` and
   put the raw ids back as names (:func:`restore_names`).

Bad input raises one :class:`~graphrec.data.errors.DataFormatError` naming the file,
the line and what to do. pandas reports few line numbers, so when the fast reader
fails, :func:`diagnose` re-reads the file line by line (only on that error path)
to find the first offending line. Nothing here writes files.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import logging
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.filters import apply_filters
from graphrec.data.readers import files
from graphrec.data.readers.files import iter_lines  # noqa: F401 - re-exported for converters
from graphrec.data.readers.parsing import INT64_BOUND
from graphrec.data.readers.table import file_provenance  # noqa: F401 - re-exported for converters

logger = logging.getLogger("data_prep")

#: rows per chunk of the pandas readers (about 100 MB of parsed columns)
CHUNK_ROWS = 2_000_000
#: lines per batch of the line-by-line (JSON / Python-literal) readers
BATCH_LINES = 100_000

PathLike = str | os.PathLike[str]


# ----------------------------------------------------------------------- files
def require_file(path: PathLike, what: str = "input file") -> Path:
    """Return ``path`` as a :class:`Path`; raise when it is missing, not a file or empty."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, f"{what} not found; check the path")
    if not path.is_file():
        raise DataFormatError(path, None, f"{what} is not a regular file")
    if path.stat().st_size == 0:
        raise DataFormatError(path, None, f"{what} is empty (0 bytes); download it again")
    return path


def is_gzip(path: PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its suffix)."""
    return files.compression(path) == "gzip"


@contextmanager
def open_text(path: PathLike, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Open a plain or compressed text file for reading (:func:`graphrec.data.readers.files.open_text`)."""
    with files.stream_errors(path, encoding), files.open_text(path, encoding) as fh:
        yield fh


def parse_record(line: str, path: PathLike, lineno: int) -> dict[str, Any]:
    """One JSON object, or one Python dict literal (the 2014 Amazon metadata), per line.

    Python literals are read with :func:`ast.literal_eval`, which evaluates no code.
    """
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
            raise DataFormatError(
                path, lineno, f"neither a JSON object nor a Python dict literal ({type(err).__name__}: "
                f"{err}); the line may be cut short: download the file again"
            ) from err
    if not isinstance(value, dict):
        raise DataFormatError(path, lineno, f"expected one object per line, found {type(value).__name__}")
    return value


# ------------------------------------------------------------- delimited text
@dataclass(frozen=True)
class Delimited:
    """Layout of a delimited text file, used by the fast reader and by :func:`diagnose`.

    Args:
        columns: the field names in file order (every line has exactly these fields).
        sep: field separator as written in the file (may be several characters, e.g. ``::``).
        header: whether line 1 is a header.
        encoding: text encoding.
        integer: fields that must be integers.
        number: fields that must be numbers.
        optional: fields that may be empty.
        checks: field -> ``(predicate, what it must be)`` for further per-value checks.
        hint: what a user should do about a bad line.
    """

    columns: tuple[str, ...]
    sep: str = ","
    header: bool = False
    encoding: str = "utf-8"
    integer: tuple[str, ...] = ()
    number: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    checks: dict[str, tuple[Callable[[str], bool], str]] = field(default_factory=dict)
    hint: str = "fix or remove that line"

    def split(self, text: str) -> list[str]:
        if len(self.sep) == 1:
            return next(csv.reader([text], delimiter=self.sep))
        return text.split(self.sep)


#: spellings of a missing value in optional fields (pandas' defaults among them)
_MISSING = frozenset({"", "null", "nan", "na", "n/a", "none"})


class InvalidValues(ValueError):
    """Raised inside :func:`reading` by a converter that found bad values in a chunk."""


def _is_int(value: str) -> bool:
    """An integer that fits in int64 (``99999999999999999999`` does not)."""
    try:
        return -INT64_BOUND <= int(value.strip()) < INT64_BOUND
    except ValueError:
        return False


def _is_number(value: str) -> bool:
    """A finite number (``inf`` and ``nan`` are not)."""
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_whole(value: str) -> bool:
    try:
        int(value.strip())
    except ValueError:
        return False
    return True


def _parses_as_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def diagnose(path: PathLike, layout: Delimited, cause: str) -> DataFormatError:
    """Find the first line of ``path`` that breaks ``layout`` (slow; error path only)."""
    expected = len(layout.columns)
    names = layout.sep.join(layout.columns)
    try:
        for lineno, text in iter_lines(path, layout.encoding):
            if (layout.header and lineno == 1) or not text.strip():
                continue
            fields = layout.split(text)
            if len(fields) != expected:
                return DataFormatError(
                    path, lineno,
                    f"{len(fields)} fields separated by {layout.sep!r}, expected {expected} ({names}); "
                    f"{layout.hint}",
                )
            for name, value in zip(layout.columns, fields):
                if value.strip().lower() in _MISSING and name in layout.optional:
                    continue
                what = None
                if name in layout.integer and not _is_int(value):
                    what = "beyond the range of a 64-bit integer" if _is_whole(value) else "not an integer"
                elif name in layout.number and not _is_number(value):
                    what = "not a finite number" if _parses_as_float(value) else "not a number"
                if what is not None:
                    return DataFormatError(path, lineno,
                                           f"field {name!r} is {value!r}, {what}; {layout.hint}")
                if name in layout.checks:
                    predicate, requirement = layout.checks[name]
                    if not predicate(value):
                        return DataFormatError(
                            path, lineno, f"field {name!r} is {value!r}: {requirement}; {layout.hint}"
                        )
    except DataFormatError as err:
        return err
    return DataFormatError(path, None, f"cannot be read ({cause}); {layout.hint}")


@contextmanager
def reading(path: PathLike, layout: Delimited) -> Iterator[None]:
    """Turn any failure of the fast reader into one :class:`DataFormatError` with a line."""
    try:
        yield
    except DataFormatError:
        raise
    except pd.errors.EmptyDataError as err:
        raise DataFormatError(path, None, "no data lines; download the file again") from err
    except (ValueError, TypeError, OverflowError, EOFError, OSError, zlib.error, zipfile.BadZipFile,
            pd.errors.ParserError) as err:
        if isinstance(err, FileNotFoundError | PermissionError):
            raise
        raise diagnose(path, layout, f"{type(err).__name__}: {err}") from err


def check_start(path: PathLike, layout: Delimited) -> None:
    """Check the header (when there is one) and the field count of the first data line.

    pandas' C reader reports a wrong field count on any later line, but silently
    drops the extra fields of the first one; so that line is checked here.
    """
    for lineno, text in iter_lines(path, layout.encoding):
        fields = [c.strip() for c in layout.split(text)]
        if layout.header and lineno == 1:
            if fields != list(layout.columns):
                raise DataFormatError(
                    path, 1,
                    f"header {text[:200]!r} is not the expected {layout.sep.join(layout.columns)!r}; "
                    "is this the right file?",
                )
            continue
        if not text.strip():
            continue
        if len(fields) != len(layout.columns):
            raise diagnose(path, layout, "wrong number of fields")
        return
    raise DataFormatError(path, None, "no data lines; download the file again")


def read_delimited(
    path: PathLike,
    layout: Delimited,
    dtype: dict[str, Any],
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Stream ``path`` in chunks of ``chunk_rows`` rows with the pandas C reader.

    ``dtype`` maps columns to explicit dtypes (the others are read as text; every
    column is read so that a line with extra fields is an error). Errors are left
    to the caller's :func:`reading` block, which finds the offending line.
    """
    check_start(path, layout)
    if len(layout.sep) == 1:
        sep, names = layout.sep, list(layout.columns)
    else:
        # a multi-character separator needs pandas' slow Python engine; for ``::`` split on ``:``
        # with the C engine instead: the fields land in every other column, the others stay empty
        if set(layout.sep) != {":"}:
            raise ValueError(f"unsupported separator {layout.sep!r}")
        step = len(layout.sep)
        sep = ":"
        names = [f"_gap{i}" for i in range(step * (len(layout.columns) - 1) + 1)]
        for i, name in enumerate(layout.columns):
            names[step * i] = name
    types = {name: dtype.get(name, "category") for name in names}
    with files.open_binary(path) as raw:
        reader = pd.read_csv(
            raw,
            sep=sep,
            header=0 if layout.header else None,
            names=names,
            index_col=False,
            dtype=types,
            encoding=layout.encoding,
            chunksize=chunk_rows,
            engine="c",
            na_filter=bool(layout.optional),
            quoting=csv.QUOTE_MINIMAL,
        )
        with reader:
            while True:
                with warnings.catch_warnings():
                    # pandas warns about a cast (e.g. 1e30 into int64) before it refuses the value
                    warnings.simplefilter("ignore", RuntimeWarning)
                    chunk = next(reader, None)
                if chunk is None:
                    return
                _check_finite(chunk, layout, dtype)
                yield chunk[[c for c in layout.columns if c in dtype]]


def _check_finite(chunk: pd.DataFrame, layout: Delimited, dtype: dict[str, Any]) -> None:
    """pandas reads ``inf`` into a float column without complaint: make it an error (found by diagnose)."""
    for name in layout.number:
        if name in chunk.columns and np.dtype(dtype.get(name, object)).kind == "f":
            values = chunk[name].to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.isinf(values) | (np.isnan(values) & (name not in layout.optional))
            if bad.any():
                raise InvalidValues(f"field {name!r} holds a value that is not a finite number")


# -------------------------------------------------------------------- ids
class Vocabulary:
    """Raw ids -> dense codes ``0..n-1`` in order of first appearance, grown chunk by chunk.

    Only the distinct ids are kept as Python objects; each chunk is encoded with one
    :func:`pandas.factorize` and a lookup of that chunk's distinct values.
    """

    def __init__(self) -> None:
        self._codes: dict[Any, int] = {}
        self._names: list[Any] = []

    def __len__(self) -> int:
        return len(self._names)

    def encode(self, values: Any) -> np.ndarray:
        """``(n,)`` int64 codes of ``values`` (no missing values allowed)."""
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=False)
        lookup = np.fromiter((self._code(u) for u in uniques), dtype=np.int64, count=len(uniques))
        return lookup[codes]  # (n,)

    def _code(self, value: Any) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self._names)
            self._names.append(value)
        return code

    @property
    def names(self) -> np.ndarray:
        """``(n,)`` object array: ``names[code]`` is the raw id."""
        out = np.empty(len(self._names), dtype=object)
        out[:] = self._names
        return out


def restore_names(
    dataset: SequenceDataset,
    users: Vocabulary | None = None,
    items: Vocabulary | None = None,
    categories: Vocabulary | None = None,
) -> SequenceDataset:
    """Replace the integer codes the dataset was built from by the raw ids they stand for."""
    changes: dict[str, Any] = {}
    for attr, vocab in (("user_names", users), ("item_names", items), ("category_names", categories)):
        current = getattr(dataset, attr)
        if vocab is not None and current is not None:
            codes = np.asarray(current, dtype=np.float64).astype(np.int64)  # "3" or "3.0" -> 3
            changes[attr] = [str(v) for v in vocab.names[codes]]
    return dataclasses.replace(dataset, **changes) if changes else dataset


# ---------------------------------------------------------------- filtering
def counts(frame: pd.DataFrame) -> dict[str, int]:
    return {
        "interactions": len(frame),
        "users": int(frame["user"].nunique()),
        "items": int(frame["item"].nunique()),
    }


def selection_record(name: str, params: dict[str, Any], before: dict[str, int],
                     after: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """A source-specific selection (behaviour type, ...) in the format of the shared filter records."""
    record = {"filter": name, "params": params, "before": before, "after": counts(after), **extra}
    logger.info("filter %s %s: %s -> %s", name, params, record["before"], record["after"])
    return record


class RunningCounts:
    """Interactions, distinct users and distinct items over a stream of integer-id chunks.

    Gives the "before" counts of a selection applied chunk by chunk, without
    keeping the unselected rows.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._users = np.zeros(0, dtype=np.int64)
        self._items = np.zeros(0, dtype=np.int64)

    def update(self, users: np.ndarray, items: np.ndarray) -> None:
        self.rows += len(users)
        self._users = np.union1d(self._users, users)
        self._items = np.union1d(self._items, items)

    def as_dict(self) -> dict[str, int]:
        return {"interactions": self.rows, "users": len(self._users), "items": len(self._items)}


def time_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by user (first-appearance order), by time within a user, file order on ties."""
    users, _ = pd.factorize(frame["user"], sort=False)
    keys: tuple[np.ndarray, ...] = (np.arange(len(frame)),)
    if "timestamp" in frame.columns:
        keys += (frame["timestamp"].to_numpy(),)
    order = np.lexsort(keys + (users,))
    return frame.iloc[order].reset_index(drop=True)


def filter_interactions(
    frame: pd.DataFrame, filters: dict[str, Any] | None, path: PathLike,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`graphrec.data.filters.apply_filters`, with an empty result reported against ``path``.

    The consecutive-repeat filter compares neighbouring rows, so the frame is put in
    time order first when it is requested.
    """
    if len(frame) == 0:
        raise DataFormatError(path, None, "no interactions to convert (no data lines, or all were "
                              "removed by the selections above)")
    filters = dict(filters or {})
    if filters.get("dedup"):
        frame = time_order(frame)
    try:
        return apply_filters(frame, **filters)
    except ValueError as err:
        raise DataFormatError(path, None, str(err)) from err


def require_rows(frame: pd.DataFrame, path: PathLike, what: str) -> None:
    if len(frame) == 0:
        raise DataFormatError(path, None, f"no interactions left after {what}; relax that selection")


def parse_choice(text: str | None, choices: dict[str, Any], what: str) -> list[Any] | None:
    """``"a,b"`` -> ``[choices["a"], choices["b"]]``; ``None``/``"all"`` -> ``None`` (keep all)."""
    if text is None or text.strip().lower() == "all":
        return None
    out = []
    for token in (t.strip().lower() for t in text.split(",") if t.strip()):
        if token not in choices:
            raise ValueError(f"unknown {what} {token!r}; choose from {sorted(choices)} or 'all'")
        out.append(choices[token])
    return out
