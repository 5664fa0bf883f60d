"""Ragged-row gathers against hand-worked slices."""

from __future__ import annotations

import numpy as np

from graphrec.data.csr import csr_slices, slice_positions


def test_slice_positions_hand_worked() -> None:
    indptr, positions = slice_positions(np.array([4, 0, 7]), np.array([6, 0, 10]))
    assert indptr.tolist() == [0, 2, 2, 5]
    assert positions.tolist() == [4, 5, 7, 8, 9]


def test_csr_slices_equal_python_slices() -> None:
    values = np.arange(100, 120)
    starts, ends = np.array([3, 10, 15, 0]), np.array([5, 10, 20, 2])
    indptr, out = csr_slices(values, starts, ends)
    expected = [values[s:e].tolist() for s, e in zip(starts, ends)]
    assert [out[indptr[r]:indptr[r + 1]].tolist() for r in range(4)] == expected
