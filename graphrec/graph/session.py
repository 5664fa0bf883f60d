"""Per-sequence session graphs (SR-GNN, Wu et al., AAAI 2019), built for a whole batch at once.

For each left-padded row ``b`` of ``input_ids`` the session graph has one node per
*unique* item of the row (ordered by item id, as in SR-GNN) and a directed edge
``v_t -> v_{t+1}`` for every consecutive pair of real positions. All rows are
batched into one disjoint graph (PyG ``Batch`` layout: ``x``, ``edge_index``,
``batch``, ``ptr``) plus the *alias* index mapping every position to its node.

Everything is computed with ``torch.unique`` over ``(row, item)`` keys and
``(src, dst)`` keys: no Python loop over rows or items.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch


def session_graphs(input_ids: Tensor, weighted: bool = False) -> Batch:
    """Session graphs of a left-padded batch.

    Args:
        input_ids: ``(B, L)`` item ids, ``0`` = padding.
        weighted: edge weight = number of times the transition occurs in the
            row; otherwise 1 per distinct transition (SR-GNN's binary adjacency).

    Returns:
        ``Batch`` with

        * ``x`` ``(M,)`` item id of every node (``M`` = total unique items per row);
        * ``edge_index`` ``(2, E)`` distinct transitions in global node ids;
        * ``edge_weight`` ``(E,)`` float32 and ``edge_count`` ``(E,)`` int64;
        * ``batch`` ``(M,)`` row of every node, ``ptr`` ``(B + 1,)`` node offsets;
        * ``alias`` ``(B, L)`` global node of every position (``-1`` at padding);
        * ``last_node`` ``(B,)`` node of each row's newest item (``-1`` for an empty row).
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be (B, L), got shape {tuple(input_ids.shape)}")
    bsz, length = input_ids.shape
    device = input_ids.device
    real = input_ids > 0  # (B, L)
    rows = torch.arange(bsz, device=device).unsqueeze(1).expand(bsz, length)  # (B, L)
    stride = int(input_ids.max().clamp_min(0)) + 1
    keys = rows[real] * stride + input_ids[real]  # (P,) one key per real position
    uniq, inverse = torch.unique(keys, sorted=True, return_inverse=True)  # (M,), (P,)
    node_row = uniq // stride  # (M,)
    x = uniq % stride  # (M,)
    alias = torch.full((bsz, length), -1, dtype=torch.long, device=device)
    alias[real] = inverse
    # transitions between consecutive real positions
    pair = real[:, :-1] & real[:, 1:]  # (B, L - 1)
    src, dst = alias[:, :-1][pair], alias[:, 1:][pair]  # (T,)
    num_nodes = len(uniq)
    edge_keys, edge_count = torch.unique(src * max(num_nodes, 1) + dst, sorted=True, return_counts=True)
    edge_index = torch.stack([edge_keys // max(num_nodes, 1), edge_keys % max(num_nodes, 1)])  # (2, E)
    counts_per_row = torch.bincount(node_row, minlength=bsz)  # (B,)
    ptr = torch.cat([counts_per_row.new_zeros(1), counts_per_row.cumsum(0)])  # (B + 1,)
    edge_weight = edge_count.float() if weighted else torch.ones(len(edge_count), device=device)
    positions = torch.arange(length, device=device)  # (L,)
    newest = (real * positions).argmax(dim=1)  # (B,) last real column (L - 1 when left-padded)
    last_node = alias.gather(1, newest.unsqueeze(1)).squeeze(1)  # (B,)
    return Batch(
        x=x,
        edge_index=edge_index,
        edge_weight=edge_weight,
        edge_count=edge_count,
        batch=node_row,
        ptr=ptr,
        alias=alias,
        last_node=last_node,
        num_nodes=num_nodes,
    )
