"""Degree normalisation of the category graph (HPCL4SR Eq. 1).

.. math::

    A_2(i, j) = \\frac{a_{ij}}{\\sqrt{(a_i + 1)(a_j + 1)}}, \\qquad a_i = \\sum_j a_{ij}

with :math:`a_i` the weighted degree of node ``i`` (diagonal included when the
graph has self loops). Relation to PyG's ``gcn_norm``: with
``add_self_loops=True`` and fill value 1, ``gcn_norm`` computes
:math:`\\hat a_{ij} / \\sqrt{\\hat d_i \\hat d_j}` with :math:`\\hat A = A + I`,
:math:`\\hat d_i = a_i + 1`. The off-diagonal entries therefore agree with Eq. 1
whenever the graph has no self loops; the differences are on the diagonal:
``gcn_norm`` adds an entry :math:`1 / (a_i + 1)` to every node (Eq. 1 adds none),
and where an existing loop :math:`a_{ii} > 0` is present, ``gcn_norm`` keeps it
and does not add 1, i.e. its degree is :math:`a_i` rather than :math:`a_i + 1`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter


def weighted_degree(edge_index: Tensor, edge_weight: Tensor, num_nodes: int) -> Tensor:
    """``(num_nodes,)`` :math:`a_i = \\sum_j a_{ij}` (summed over ``edge_index[0]``)."""
    return scatter(edge_weight, edge_index[0], dim=0, dim_size=num_nodes, reduce="sum")


def degree_normalize(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int) -> Tensor:
    """HPCL4SR Eq. 1 on a symmetric weighted graph.

    Args:
        edge_index: ``(2, E)`` edges ``i -> j``.
        edge_weight: ``(E,)`` non-negative weights :math:`a_{ij}` (``None``: all 1).
        num_nodes: number of nodes.

    Returns:
        ``(E,)`` normalised weights :math:`A_2(i, j)` for the same edges.
    """
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], dtype=torch.float32, device=edge_index.device)
    deg = weighted_degree(edge_index, edge_weight, num_nodes) + 1.0  # (num_nodes,)
    inv_sqrt = deg.rsqrt()
    return edge_weight * inv_sqrt[edge_index[0]] * inv_sqrt[edge_index[1]]


def normalized_category_graph(graph: Data) -> Data:
    """A copy of a category graph whose ``edge_weight`` is Eq. 1 (``raw_weight`` keeps :math:`a_{ij}`)."""
    out = graph.clone()
    out.raw_weight = graph.edge_weight
    out.edge_weight = degree_normalize(graph.edge_index, graph.edge_weight, int(graph.num_nodes))
    out.normalization = "hpcl4sr_eq1"
    return out
