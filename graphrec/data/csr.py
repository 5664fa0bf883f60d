"""Vectorised gathers of ragged rows (CSR slices), shared by splits, readers, graphs and serving."""

from __future__ import annotations

import numpy as np


def slice_positions(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions ``starts[r] .. ends[r] - 1`` of every row, concatenated, without a loop over rows.

    Args:
        starts / ends: ``(R,)`` offsets; rows with ``ends <= starts`` are empty.

    Returns:
        ``(indptr, positions)``: ``(R + 1,)`` offsets of each row's positions and the
        ``(sum(ends - starts),)`` positions themselves, rows in order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.maximum(np.asarray(ends, dtype=np.int64) - starts, 0)  # (R,)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (R + 1,)
    within = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1], lengths)  # (T,)
    return indptr, np.repeat(starts, lengths) + within


def csr_slices(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, values)`` of the slices ``values[starts[r]:ends[r]]``."""
    indptr, positions = slice_positions(starts, ends)
    return indptr, values[positions]
