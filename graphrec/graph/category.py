"""Category co-occurrence graph (HPCL4SR §4.1, the "category global graph" :math:`A_1`).

Nodes are item categories: **node** ``c - 1`` **is category** ``c`` (categories are
numbered ``1..C`` in the canonical dataset; ``0`` = unknown has no node). The
symmetric edge weight

.. math::

    a_{ij} = \\#\\{(u, t, d) : 1 \\le d \\le w,\\ \\{c^u_t, c^u_{t+d}\\} = \\{i, j\\}\\}

counts how often categories ``i`` and ``j`` occur ``d <= window`` steps apart in a
user's training category sequence (``window = 1``: adjacent, the paper's graph).
A pair ``i != j`` adds one to both ``a_ij`` and ``a_ji``; a same-category pair
(``self_loops=True``) adds one to ``a_ii``. Pairs that involve an item of unknown
category are skipped (the unknown item is not bridged over).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.user_split import UserSplit
from graphrec.graph.training import TrainingCSR, training_csr

NO_CATEGORIES = "this dataset has no item categories; prepare it with a category column or attribute file"


def category_pairs(train: TrainingCSR, window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All (earlier, later) category pairs at most ``window`` steps apart within a row.

    Returns:
        Two ``(P,)`` int64 arrays of category ids ``1..C`` (unknown categories removed).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    cats = train.item_category[train.items]  # (nnz,)
    row = train.row_of  # (nnz,)
    firsts, seconds = [], []
    for d in range(1, window + 1):  # loop over the (small) window, not over users
        same = row[:-d] == row[d:]
        a, b = cats[:-d][same], cats[d:][same]
        known = (a > 0) & (b > 0)
        firsts.append(a[known])
        seconds.append(b[known])
    return np.concatenate(firsts), np.concatenate(seconds)


def category_graph(
    source: SequenceDataset | LeaveOneOutSplit | UserSplit | TrainingCSR,
    window: int = 1,
    self_loops: bool = False,
    protocol: str = "loo",
) -> Data:
    """Build the category co-occurrence graph from training interactions.

    Args:
        source: dataset, leave-one-out split or :class:`TrainingCSR`; a dataset is
            reduced to its training part with :func:`training_csr` (``protocol``).
        window: count pairs up to ``window`` steps apart (1 = adjacent only).
        self_loops: also count same-category pairs on the diagonal ``a_ii``.
        protocol: split used to reduce a dataset (``"loo"``, ``"user"``, ``"all"``).

    Returns:
        ``Data`` with ``edge_index`` ``(2, E)`` (sorted by source, then target),
        ``edge_weight`` ``(E,)`` float32 counts :math:`a_{ij}` (symmetric),
        ``num_nodes = C``, ``category_count`` ``(C,)`` training interactions per
        category, ``category_names`` (list or ``None``), and provenance
        attributes ``window``, ``self_loops``, ``protocol``, ``split_fingerprint``.

    Raises:
        ValueError: when the dataset has no item categories.
    """
    train = training_csr(source, protocol=protocol)
    num_cats = train.num_categories
    if num_cats == 0:
        raise ValueError(NO_CATEGORIES)
    a, b = category_pairs(train, window)
    if not self_loops:
        keep = a != b
        a, b = a[keep], b[keep]
    off = a != b
    rows = np.concatenate([a, b[off]]) - 1  # (P + P_off,) node = category - 1
    cols = np.concatenate([b, a[off]]) - 1
    counts = sp.coo_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(num_cats, num_cats)
    ).tocsr()  # duplicates summed; CSR is sorted by row then column
    counts.sort_indices()
    coo = counts.tocoo()
    edge_index = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))  # (2, E)
    cat_of_interaction = train.item_category[train.items]
    category_count = np.bincount(cat_of_interaction, minlength=num_cats + 1)[1:]
    return Data(
        edge_index=edge_index,
        edge_weight=torch.from_numpy(coo.data.astype(np.float32)),
        num_nodes=num_cats,
        category_count=torch.from_numpy(category_count.astype(np.int64)),
        category_names=list(train.category_names) if train.category_names else None,
        window=int(window),
        self_loops=bool(self_loops),
        protocol=train.protocol,
        split_fingerprint=train.split_fingerprint,
    )
