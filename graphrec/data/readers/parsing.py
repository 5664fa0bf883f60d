"""Parsing of numeric fields shared by the readers, with errors that name the file, line and token.

Every reader turns a column (or a file's tokens) into numbers with
:func:`parse_numbers`: one vectorised conversion, and on failure a
:class:`~graphrec.data.errors.DataFormatError` at the line of the first bad
value, saying what the value is and how many such values there are. The wording
of the problem is the caller's (``problem(token, count)``), since a reader knows
what the value was meant to be (an item id, a rating, a timestamp).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.data.errors import DataFormatError

#: line of the first data row of a table whose first line is the header
FIRST_TABLE_LINE = 2

#: ``problem(token, count) -> message``: the first bad value and the number of bad values
Problem = Callable[[Any, int], str]


def raise_first_bad(
    path: Path, values: Sequence[Any] | pd.Series, bad: np.ndarray, lines: np.ndarray | int, problem: Problem
) -> None:
    """Raise :class:`DataFormatError` at the first ``True`` of ``bad``; do nothing when there is none.

    Args:
        path: the file the values come from.
        values: ``(n,)`` the raw values (tokens or a column).
        bad: ``(n,)`` bool, True where a value is unusable.
        lines: ``(n,)`` 1-based line of each value, or the line of the first value
            when the values stand one a line (:data:`FIRST_TABLE_LINE` for a table
            with a header).
        problem: builds the message from the first bad value and the number of bad values.
    """
    if not bad.any():
        return
    index = int(np.argmax(bad))
    line = lines + index if isinstance(lines, int) else int(lines[index])
    token = values.iloc[index] if isinstance(values, pd.Series) else values[index]
    raise DataFormatError(path, line, problem(token, int(bad.sum())))


def _is_int64(token: Any) -> bool:
    try:
        np.array([token], dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        return False
    return True


def parse_numbers(
    values: Sequence[Any] | pd.Series,
    path: Path,
    problem: Problem,
    lines: np.ndarray | int = FIRST_TABLE_LINE,
    integer: bool = False,
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
            as numbers of pandas' inferred dtype (a missing value is bad).

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
    return numbers.to_numpy()


__all__ = ["FIRST_TABLE_LINE", "Problem", "parse_numbers", "raise_first_bad"]
