"""Per-sequence session graphs (SR-GNN, Wu et al., AAAI 2019), built for a whole batch at once.

For each left-padded row ``b`` of ``input_ids`` the session graph has one node per
*unique* item of the row (ordered by item id, as in SR-GNN) and a directed edge
``v_t -> v_{t+1}`` for every consecutive pair of real positions. All rows are
batched into one disjoint graph (PyG ``Batch`` layout: ``x``, ``edge_index``,
``batch``, ``ptr``) plus the *alias* index mapping every position to its node.

Everything is computed with ``torch.unique`` over ``(row, item)`` keys and
``(src, dst)`` keys: no Python loop over rows or items.

:func:`causal_session_graphs` builds the *causal* variant used when every
position predicts its next item: one node per real position and only edges from
earlier to later positions (see its docstring), so that a node's state after any
number of message-passing steps depends only on its prefix.
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


def causal_session_graphs(input_ids: Tensor) -> Batch:
    """Causal position graphs of a left-padded batch: SR-GNN's two relations, prefix by prefix.

    One node per real position. For position ``t`` of row ``b`` (item ``s_t``) and
    every position ``u <= t`` of the same row holding the same item (``s_u = s_t``,
    including ``u = t``):

    * an *in* edge ``u - 1 -> t`` (when column ``u - 1`` is real): the items that
      preceded an occurrence of ``s_t`` so far — SR-GNN's in-neighbours of node
      ``s_t`` in the session graph of the prefix ``s[:t+1]``;
    * an *out* edge ``u + 1 -> t`` for ``u < t``: the items that followed an earlier
      occurrence of ``s_t`` — SR-GNN's out-neighbours of ``s_t`` within that prefix.

    .. math::
        E_{in} = \\{(u - 1, t) : u \\le t,\\ s_u = s_t\\}, \\qquad
        E_{out} = \\{(u + 1, t) : u < t,\\ s_u = s_t\\}

    Every source is at a column ``<= t``, so message passing along both edge sets
    (messages flow ``src -> dst``) is causal by construction, and the graph of a
    row does not depend on its amount of left padding. The transition
    ``s_{t-1} -> s_t`` is the in edge with ``u = t``. Built from one ``(B, L, L)``
    same-item comparison: no loop over rows.

    Args:
        input_ids: ``(B, L)`` item ids, ``0`` = padding (left-padded).

    Returns:
        ``Batch`` with

        * ``x`` ``(P,)`` item id of every node (the real positions, row-major, as
          ``input_ids[input_ids > 0]``);
        * ``edge_index`` ``(2, E_in)`` in edges and ``out_edge_index`` ``(2, E_out)``
          out edges, global node ids, ``src -> dst``;
        * ``batch`` ``(P,)`` row of every node, ``ptr`` ``(B + 1,)`` node offsets;
        * ``alias`` ``(B, L)`` node of every position (``-1`` at padding).
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be (B, L), got shape {tuple(input_ids.shape)}")
    bsz, length = input_ids.shape
    device = input_ids.device
    real = input_ids > 0  # (B, L)
    num_nodes = int(real.sum())
    alias = torch.full((bsz, length), -1, dtype=torch.long, device=device)
    alias[real] = torch.arange(num_nodes, device=device)
    cols = torch.arange(length, device=device)  # (L,)
    earlier = cols.unsqueeze(1) <= cols.unsqueeze(0)  # (L, L): u <= t
    same = (input_ids.unsqueeze(2) == input_ids.unsqueeze(1)) & real.unsqueeze(2) & earlier  # (B, L_u, L_t)
    row, u, t = same.nonzero(as_tuple=True)  # (S,) each: s_u = s_t, u <= t, both real
    prev = u - 1  # (S,)
    has_prev = (prev >= 0) & real[row, prev.clamp_min(0)]  # (S,)
    edge_index = torch.stack([alias[row, prev][has_prev], alias[row, t][has_prev]])  # (2, E_in)
    nxt = u + 1  # (S,) real whenever u < t in a left-padded row
    has_next = (u < t) & real[row, nxt.clamp_max(length - 1)]  # (S,) u + 1 is real
    nxt = nxt.clamp_max(length - 1)  # (S,)
    out_edge_index = torch.stack([alias[row, nxt][has_next], alias[row, t][has_next]])  # (2, E_out)
    node_row = torch.arange(bsz, device=device).unsqueeze(1).expand(bsz, length)[real]  # (P,)
    counts_per_row = real.sum(dim=1)  # (B,)
    ptr = torch.cat([counts_per_row.new_zeros(1), counts_per_row.cumsum(0)])  # (B + 1,)
    return Batch(
        x=input_ids[real],
        edge_index=edge_index,
        out_edge_index=out_edge_index,
        batch=node_row,
        ptr=ptr,
        alias=alias,
        num_nodes=num_nodes,
    )
