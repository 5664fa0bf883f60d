"""Global item-transition graph over training sequences.

Nodes are items with **node** ``i`` **= item** ``i`` (node ``0`` is padding and stays
isolated, so node ids index the item embedding table directly). The directed
edge weight

.. math::

    w_{ij} = \\#\\{(u, t) : s^u_t = i,\\ s^u_{t+1} = j\\}

counts how often item ``j`` directly follows item ``i`` in a training sequence
(see :func:`graphrec.graph.training.training_csr`: no validation or test target
is counted). With ``normalize="row"`` the weights become transition
probabilities :math:`w_{ij} / \\sum_k w_{ik}`.
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

NORMALIZATIONS = ("none", "row")


def item_transition_graph(
    source: SequenceDataset | LeaveOneOutSplit | UserSplit | TrainingCSR,
    normalize: str = "none",
    self_loops: bool = True,
    protocol: str = "loo",
) -> Data:
    """Directed next-item graph.

    Args:
        source: dataset, leave-one-out split or :class:`TrainingCSR`.
        normalize: ``"none"`` (counts) or ``"row"`` (divide by out-degree).
        self_loops: keep repeated consumption ``i -> i``.
        protocol: split used to reduce a dataset (``"loo"``, ``"user"``, ``"all"``).

    Returns:
        ``Data`` with ``edge_index`` ``(2, E)`` sorted by source then target,
        ``edge_weight`` ``(E,)`` float32, ``edge_count`` ``(E,)`` int64 raw
        counts, ``num_nodes = N + 1`` and provenance ``normalize``, ``protocol``,
        ``split_fingerprint``.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown normalize {normalize!r}; valid: {list(NORMALIZATIONS)}")
    train = training_csr(source, protocol=protocol)
    row = train.row_of
    same = row[:-1] == row[1:]
    src, dst = train.items[:-1][same], train.items[1:][same]  # (T,)
    if not self_loops:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    n = train.num_items + 1
    counts = sp.coo_matrix((np.ones(len(src), dtype=np.int64), (src, dst)), shape=(n, n)).tocsr()
    counts.sum_duplicates()
    counts.sort_indices()
    coo = counts.tocoo()
    edge_count = torch.from_numpy(coo.data.astype(np.int64))
    weight = coo.data.astype(np.float64)
    if normalize == "row":
        out_deg = np.asarray(counts.sum(axis=1)).ravel()  # (N + 1,)
        weight = weight / out_deg[coo.row]
    return Data(
        edge_index=torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64)),  # (2, E)
        edge_weight=torch.from_numpy(weight.astype(np.float32)),
        edge_count=edge_count,
        num_nodes=n,
        normalize=normalize,
        protocol=train.protocol,
        split_fingerprint=train.split_fingerprint,
    )
