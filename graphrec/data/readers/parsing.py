"""Parsing of numeric fields shared by the readers, with errors that name the file, line and token.

Every reader turns a column (or a file's tokens) into numbers with
:func:`parse_numbers`: one vectorised conversion, and on failure a
:class:`~graphrec.data.errors.DataFormatError` at the line of the first bad
value, saying what the value is and how many such values there are. The wording
of the problem is the caller's (``problem(token, count)``), since a reader knows
what the value was meant to be (an item id, a rating, a timestamp).

A number is usable only when it is finite (``inf`` and ``nan`` are refused) and,
for values stored as 64-bit integers (timestamps), within the int64 range: ``1e30``
is one error at its line, not a value silently wrapped to ``-9.2e18``.

Line numbers are physical lines of the file: :class:`TableLines` finds the line
of a table row (blank lines skipped by the table reader and quoted fields that
span lines counted), on the error path only.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.data.errors import DataFormatError
from graphrec.data.readers.files import open_text, stream_errors

#: line of the first data row of a table whose first line is the header
FIRST_TABLE_LINE = 2

#: ``problem(token, count) -> message``: the first bad value and the number of bad values
Problem = Callable[[Any, int], str]
#: where values stand: a line per value, the line of the first value (one a line), or row -> line
Lines = np.ndarray | int | Callable[[int], int]
#: floats at or beyond this magnitude do not fit in int64
INT64_BOUND = 2.0**63


class TableLines:
    """``row -> line``: the physical line where data row ``row`` (0-based, after the header) starts.

    The table readers skip blank lines, and a quoted field may span lines, so the
    line of a row is not always ``row + 2``. The file is read again with the
    :mod:`csv` module, only when an error needs a line.

    Args:
        path: the table file.
        delimiter: its field separator (one character).
        quoting: the :mod:`csv` quoting rule the table reader used.
        header: whether the first record is a header.
        encoding: the text encoding.
    """

    def __init__(self, path: Path, delimiter: str, quoting: int = csv.QUOTE_MINIMAL, header: bool = True,
                 encoding: str = "utf-8") -> None:
        self.path, self.delimiter = path, delimiter
        self.quoting: Any = quoting
        self.header, self.encoding = header, encoding

    def __call__(self, row: int) -> int:
        wanted = row + (1 if self.header else 0)
        end = 0  # last line of the previous record
        seen = 0
        try:
            with stream_errors(self.path, self.encoding), open_text(self.path, self.encoding) as fh:
                reader = csv.reader(fh, delimiter=self.delimiter, quoting=self.quoting)
                for record in reader:
                    start, end = end + 1, reader.line_num
                    if not record:
                        continue
                    if seen == wanted:
                        return start
                    seen += 1
        except (csv.Error, DataFormatError):
            pass
        return wanted + 1  # the file no longer reads the same way: the line of a table without gaps


def empty_id_problem(role: str, column: str | None = None) -> Problem:
    """The message for an empty user or item id (``role``) in ``column``."""
    where = "" if column is None else f" in column {column!r}"
    return lambda _token, count: f"empty {role} id{where} ({count} such rows)"


def _line_of(lines: Lines, index: int) -> int:
    if isinstance(lines, int):
        return lines + index
    if isinstance(lines, np.ndarray):
        return int(lines[index])
    return lines(index)


def raise_first_bad(
    path: Path, values: Sequence[Any] | pd.Series, bad: np.ndarray, lines: Lines, problem: Problem
) -> None:
    """Raise :class:`DataFormatError` at the first ``True`` of ``bad``; do nothing when there is none.

    Args:
        path: the file the values come from.
        values: ``(n,)`` the raw values (tokens or a column).
        bad: ``(n,)`` bool, True where a value is unusable.
        lines: ``(n,)`` 1-based line of each value, the line of the first value
            when the values stand one a line (:data:`FIRST_TABLE_LINE` for a table
            with a header), or a function ``index -> line`` (e.g. :class:`TableLines`).
        problem: builds the message from the first bad value and the number of bad values.
    """
    if not bad.any():
        return
    index = int(np.argmax(bad))
    line = _line_of(lines, index)
    token = values.iloc[index] if isinstance(values, pd.Series) else values[index]
    raise DataFormatError(path, line, problem(token, int(bad.sum())))


def _is_int64(token: Any) -> bool:
    try:
        np.array([token], dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        return False
    return True


def out_of_range(numbers: np.ndarray | pd.Series, int64: bool = False) -> np.ndarray:
    """``(n,)`` bool: values that are not finite or (with ``int64``) do not fit in a 64-bit integer.

    ``numbers`` is numeric (int, uint or float dtype; missing values count as not finite).
    """
    array = np.asarray(numbers)
    if array.dtype.kind == "i":
        return np.zeros(len(array), dtype=bool)
    if array.dtype.kind == "u":
        return array > np.iinfo(np.int64).max if int64 else np.zeros(len(array), dtype=bool)
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if int64:
        with np.errstate(invalid="ignore"):
            bad |= np.abs(array) >= INT64_BOUND
    return bad


def range_problem(what: str, int64: bool) -> Problem:
    """The message for a value :func:`out_of_range` refuses: ``what`` names the field."""

    def problem(token: Any, count: int) -> str:
        try:
            finite = math.isfinite(float(token))
        except (TypeError, ValueError, OverflowError):
            finite = False
        reason = ("is beyond the range of a 64-bit integer (|value| < 9.2e18)" if finite and int64
                  else "is not a finite number")
        return f"{what}: {token!r} {reason} ({count} such value{'' if count == 1 else 's'})"

    return problem


def check_range(
    numbers: np.ndarray | pd.Series, values: Sequence[Any] | pd.Series, path: Path, what: str,
    lines: Lines = FIRST_TABLE_LINE, int64: bool = False,
) -> None:
    """Raise :class:`DataFormatError` at the first value that is not finite or (``int64``) too large.

    Args:
        numbers: ``(n,)`` the parsed values.
        values: ``(n,)`` the raw values (shown in the message).
        path / lines: where the values come from.
        what: names the field in the message (``"time column 'ts'"``).
        int64: the values are stored as 64-bit integers (timestamps).
    """
    raise_first_bad(path, values, out_of_range(numbers, int64), lines, range_problem(what, int64))


def parse_numbers(
    values: Sequence[Any] | pd.Series,
    path: Path,
    problem: Problem,
    lines: Lines = FIRST_TABLE_LINE,
    integer: bool = False,
    int64: bool = False,
    what: str = "value",
) -> np.ndarray:
    """``values`` as numbers, or a :class:`DataFormatError` naming the first bad one.

    Args:
        values: ``(n,)`` strings (or numbers, e.g. a Parquet column).
        path: the file the values come from (for the error).
        problem: ``problem(token, count)`` says what is wrong with the first bad
            value ``token`` (``count`` bad values in all).
        lines: ``(n,)`` 1-based line of each value, or the line of the first value
            when they stand one a line (default: a table with a header line).
        integer: parse as int64 (a value that is not an integer is bad); otherwise
            as numbers of pandas' inferred dtype (a missing value is bad, and so is
            a value that is not finite).
        int64: (without ``integer``) the numbers will be stored as int64: a value
            beyond that range is bad too.
        what: names the field in the message about a value that is not finite or
            out of range (see :func:`check_range`).

    Returns:
        ``(n,)`` int64 array with ``integer``, else the numeric array.
    """
    if integer:
        try:
            return np.array(values, dtype=np.int64)
        except (ValueError, OverflowError):
            pass
        # error path only: find the offending values with the same conversion, one by one
        ok = np.fromiter(map(_is_int64, values), dtype=bool, count=len(values))
        raise_first_bad(path, values, ~ok, lines, problem)
        return np.array(values, dtype=np.int64)  # not reached: some value failed above
    numbers = pd.to_numeric(pd.Series(values) if not isinstance(values, pd.Series) else values,
                            errors="coerce")
    raise_first_bad(path, values, numbers.isna().to_numpy(), lines, problem)
    array = numbers.to_numpy()
    check_range(array, values, path, what, lines, int64)
    return array


__all__ = ["FIRST_TABLE_LINE", "INT64_BOUND", "Lines", "Problem", "TableLines", "check_range",
           "empty_id_problem", "out_of_range", "parse_numbers", "raise_first_bad", "range_problem"]
