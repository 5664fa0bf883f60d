"""Correlated items: the table of co-occurring items that :func:`~graphrec.data.augment.insert`
and :func:`~graphrec.data.augment.substitute` draw from (CoSeRec-style augmentation)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from torch import Tensor


def build_similar_items(indptr: npt.ArrayLike | Tensor, items: npt.ArrayLike | Tensor, num_items: int,
                        k: int = 10, window: int = 3) -> Tensor:
    """Top-``k`` co-occurring items of every item, the table :func:`insert`/:func:`substitute` draw from.

    Two items co-occur when they appear at most ``window`` positions apart in the
    same sequence (either order, an item never pairs with itself):

    .. math::

        c_{ij} = \\#\\{(u, t, d) : 1 \\le d \\le w,\\ \\{s^u_t, s^u_{t+d}\\} = \\{i, j\\},\\ i \\ne j\\}

    Row ``i`` lists the items ``j`` with the largest :math:`c_{ij}` (ties: smaller
    id first). An item with ``0 < c < k`` neighbours repeats them cyclically
    (``j``-th column = ``(j mod c)``-th neighbour); row ``0`` and items without a
    neighbour hold the item itself.

    Only **training** interactions may be passed (e.g. the arrays of
    :func:`graphrec.graph.training.training_csr`): a table built from held-out
    targets leaks them into the augmented inputs.

    Args:
        indptr: ``(R + 1,)`` CSR offsets into ``items``.
        items: ``(nnz,)`` item ids ``1..N``, time-ordered per row.
        num_items: ``N``.
        k: neighbours per item.
        window: maximum distance between co-occurring positions.

    Returns:
        ``(N + 1, k)`` int64 CPU tensor.
    """
    indptr_np = np.asarray(indptr, dtype=np.int64)  # (R + 1,)
    items_np = np.asarray(items, dtype=np.int64)  # (nnz,)
    if k < 1 or window < 1:
        raise ValueError(f"k and window must be >= 1, got k={k}, window={window}")
    if indptr_np.ndim != 1 or len(indptr_np) < 1 or indptr_np[0] != 0 or np.any(np.diff(indptr_np) < 0):
        raise ValueError("indptr must be a non-decreasing 1-D array starting at 0")
    if items_np.ndim != 1 or indptr_np[-1] != len(items_np):
        raise ValueError(f"indptr[-1] = {indptr_np[-1]} but there are {len(items_np)} items")
    if len(items_np) and (items_np.min() < 1 or items_np.max() > num_items):
        raise ValueError(f"items must lie in 1..{num_items}, got {items_np.min()}..{items_np.max()}")
    row_of = np.repeat(np.arange(len(indptr_np) - 1), np.diff(indptr_np))  # (nnz,)
    src_parts, dst_parts = [], []
    for d in range(1, window + 1):  # one pass per distance, vectorised over all positions
        same = row_of[:-d] == row_of[d:]  # (nnz - d,)
        a, b = items_np[:-d][same], items_np[d:][same]
        distinct = a != b
        src_parts += [a[distinct], b[distinct]]
        dst_parts += [b[distinct], a[distinct]]
    src = np.concatenate(src_parts) if src_parts else np.zeros(0, dtype=np.int64)
    dst = np.concatenate(dst_parts) if dst_parts else np.zeros(0, dtype=np.int64)
    size = num_items + 1
    counts = sp.coo_matrix((np.ones(len(src), dtype=np.int64), (src, dst)), shape=(size, size)).tocsr()
    counts.sum_duplicates()
    counts.sort_indices()
    nbr_ptr = counts.indptr.astype(np.int64)  # (N + 2,)
    nbr_row = np.repeat(np.arange(size), np.diff(nbr_ptr))  # (E,)
    order = np.lexsort((counts.indices, -counts.data, nbr_row))  # by row, count desc, id asc
    ranked = np.append(counts.indices[order].astype(np.int64), 0)  # (E + 1,) spare slot for empty rows
    available = np.minimum(np.diff(nbr_ptr), k)  # (N + 1,)
    column = np.arange(k)[None, :] % np.maximum(available, 1)[:, None]  # (N + 1, k)
    slot = np.where(available[:, None] > 0, nbr_ptr[:-1, None] + column, len(ranked) - 1)  # (N + 1, k)
    table = np.where(available[:, None] > 0, ranked[slot], np.arange(size)[:, None])  # (N + 1, k)
    return torch.from_numpy(table.astype(np.int64))


__all__ = ["build_similar_items"]
