"""The numeric parser shared by the readers: values, and errors naming file, line and token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.data.errors import DataFormatError
from graphrec.data.readers.parsing import FIRST_TABLE_LINE, parse_numbers, raise_first_bad

PATH = Path("data/log.csv")


def _problem(token: object, count: int) -> str:
    return f"{token!r} is bad ({count} in all)"


def test_numbers_of_a_table_column() -> None:
    values = parse_numbers(pd.Series(["1", "2.5", "-3"]), PATH, _problem)
    np.testing.assert_array_equal(values, [1.0, 2.5, -3.0])


def test_bad_cell_names_file_line_and_token() -> None:
    with pytest.raises(DataFormatError) as info:
        parse_numbers(pd.Series(["1", "2", "often", "x"]), PATH, _problem)
    err = info.value
    assert err.path == str(PATH) and err.line == 2 + FIRST_TABLE_LINE  # header is line 1
    assert str(err) == f"{PATH}, line 4: 'often' is bad (2 in all)"


def test_integer_tokens_with_their_own_lines() -> None:
    lines = np.array([1, 1, 3, 3, 3])
    np.testing.assert_array_equal(parse_numbers(["1", "2", "3", "4", "5"], PATH, _problem, lines, True),
                                  [1, 2, 3, 4, 5])
    for bad in ("x", "3.5", "1.0", "99999999999999999999"):  # numpy rejects each of these
        with pytest.raises(DataFormatError, match=f"'{bad}' is bad") as info:
            parse_numbers(["1", "2", "3", bad, "5"], PATH, _problem, lines, integer=True)
        assert info.value.line == 3 and "(1 in all)" in str(info.value)
        assert info.value.__context__ is None  # not chained to numpy's conversion error


def test_raise_first_bad_does_nothing_without_a_bad_value() -> None:
    raise_first_bad(PATH, ["a"], np.array([False]), FIRST_TABLE_LINE, _problem)
