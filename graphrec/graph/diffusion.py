"""Multi-hop diffusion weights (HPCL4SR Eq. 2, after MAGNA): pure graph math.

.. math::

    \\mathcal{A} = \\sum_{k=0}^{K} \\theta_k A^k, \\qquad
    \\theta_k = \\alpha (1 - \\alpha)^k \\ (k < K), \\quad \\theta_K = (1 - \\alpha)^K,

so :math:`\\sum_k \\theta_k = 1` exactly (``weights="remainder"``). With
``weights="normalized"`` the truncated series is renormalised instead, so the weights
decrease with the hop as the paper states (its line 155):

.. math::

    \\theta_k = \\frac{\\alpha (1 - \\alpha)^k}{\\sum_{j=0}^{K} \\alpha (1 - \\alpha)^j}.

The layer that diffuses attention with these
weights is :class:`graphrec.nn.diffusion.AttentionDiffusion`; graph analysis uses them
to measure how far diffusion spreads.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: how the truncated series of hop weights is made to sum to one
DIFFUSION_WEIGHTS = ("remainder", "normalized")


def diffusion_coefficients(num_hops: int, alpha: float, weights: str = "remainder") -> Tensor:
    """``(K + 1,)`` :math:`\\theta_k = \\alpha(1-\\alpha)^k`, summing to one.

    ``weights="remainder"``: the series' remainder :math:`(1-\\alpha)^K` on hop ``K``;
    ``"normalized"``: the truncated series divided by its sum (decreasing in ``k``).
    """
    if num_hops < 0:
        raise ValueError(f"num_hops must be >= 0, got {num_hops}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    if weights not in DIFFUSION_WEIGHTS:
        raise ValueError(f"diffusion weights must be one of {list(DIFFUSION_WEIGHTS)}, got {weights!r}")
    k = torch.arange(num_hops + 1, dtype=torch.float64)
    theta = alpha * (1.0 - alpha) ** k
    if weights == "remainder":
        theta[-1] = (1.0 - alpha) ** num_hops
    else:
        theta = theta / theta.sum()
    return theta.float()


#: graphs with at least this share of the C^2 possible edges diffuse with a dense (C, C) product
DENSE_MIN_DENSITY = 0.02
#: ... unless they have more nodes than this (the dense matrix would hold C^2 floats)
DENSE_MAX_NODES = 8192


def use_dense(num_nodes: int, num_edges: int, dense: bool | None = None) -> bool:
    """Whether :func:`diffuse` takes the dense product (``dense=None``: automatic)."""
    if dense is not None:
        return dense
    return 0 < num_nodes <= DENSE_MAX_NODES and num_edges >= DENSE_MIN_DENSITY * num_nodes * num_nodes


def diffuse(x: Tensor, edge_index: Tensor, coeff: Tensor, theta: Tensor, dense: bool | None = None) -> Tensor:
    """:math:`\\sum_k \\theta_k A^k x` by power iteration, ``A[i, j] = coeff`` of edge ``j -> i``.

    Args:
        x: ``(C, D)`` node features.
        edge_index: ``(2, E)`` edges ``j -> i`` (row 0 sources, row 1 targets).
        coeff: ``(E,)`` the edges' coefficients :math:`A_{ij}`.
        theta: ``(K + 1,)`` hop weights (:func:`diffusion_coefficients`).
        dense: the dense ``(C, C)`` product (``None``: :func:`use_dense` decides).

    Sparse (gather-scatter): each hop is :math:`Z_k[i] = \\sum_{(j \\to i)} A_{ij} Z_{k-1}[j]`
    (``index_add``), not a sparse CSR product, whose gradient through its values leaks memory
    in torch. Dense: ``A`` is built once as a ``(C, C)`` matrix (repeated edges add up, as in
    the scatter) and each hop is ``A @ Z``; the gradient reaches ``coeff`` through its entries.
    The two agree to float rounding, values and gradients alike.
    """
    num_hops = int(theta.shape[0]) - 1
    if num_hops == 0:
        return x
    src, dst = edge_index[0], edge_index[1]
    weight = coeff.to(x.dtype)  # (E,)
    theta = theta.to(x.dtype)
    num_nodes = x.shape[0]
    matrix = None
    if use_dense(num_nodes, int(edge_index.shape[1]), dense):
        # (C, C) A[i, j] = coeff of edge j -> i
        matrix = x.new_zeros(num_nodes, num_nodes).index_put((dst, src), weight, accumulate=True)
    z = x
    out = theta[0] * x
    for k in range(1, num_hops + 1):
        if matrix is not None:
            z = matrix @ z  # Z_k = A Z_{k-1}, (C, D)
        else:
            z = torch.zeros_like(z).index_add_(0, dst, z[src] * weight.unsqueeze(1))  # (C, D)
        out = out + theta[k] * z
    return out

__all__ = ["DENSE_MAX_NODES", "DENSE_MIN_DENSITY", "diffuse", "diffusion_coefficients", "use_dense"]
