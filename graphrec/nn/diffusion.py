"""Multi-hop attention diffusion (HPCL4SR Eq. 2, after MAGNA, Wang et al., IJCAI 2021).

Attention on the edges of a graph is computed **once** (GAT-style, a softmax
over each node's in-neighbours, optionally weighted by the Eq. 1 weights) and
then diffused over ``K`` hops:

.. math::

    \\mathcal{A} = \\sum_{k=0}^{K} \\theta_k A^k, \\qquad
    \\theta_k = \\alpha (1 - \\alpha)^k \\ (k < K), \\quad \\theta_K = (1 - \\alpha)^K,

so :math:`\\theta_k > \\theta_{k+1}` (for :math:`\\alpha \\ge 1/2`, and for the
truncated head of the series in general) and :math:`\\sum_k \\theta_k = 1` exactly.
The product :math:`\\mathcal{A} H` is computed by power iteration
:math:`Z_0 = H,\\ Z_{k+1} = A Z_k` with one matrix product per hop — never a
matrix power — and output :math:`\\sum_k \\theta_k Z_k`. The product is a
gather-scatter over the edges on sparse graphs and a dense ``(C, C)`` product on
dense ones (``dense``: by default when the graph holds at least
:data:`~graphrec.graph.diffusion.DENSE_MIN_DENSITY` of the ``C^2`` possible edges and
``C <=`` :data:`~graphrec.graph.diffusion.DENSE_MAX_NODES`): the two agree to float
rounding, values and gradients alike. Category co-occurrence graphs are dense, and
there the gather-scatter moves ``E x D`` floats per hop and its backward as many
again, while the dense product of the same hop is one BLAS call.

Attention (``attention=True``), for an edge ``j -> i`` with weight :math:`w_{ij}`:

.. math::

    e_{ij} = \\mathrm{LeakyReLU}(a_{dst}^\\top W h_i + a_{src}^\\top W h_j), \\qquad
    A_{ij} = \\frac{w_{ij} \\exp(e_{ij})}{\\sum_{k \\in N(i)} w_{ik} \\exp(e_{ik})},

i.e. a softmax of :math:`e_{ij} + \\log w_{ij}`; every row with an in-neighbour
sums to 1. With ``attention=False`` the given edge weights are used as
:math:`A` as they are (HPCL4SR's Eq. 2 on :math:`A_2`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import softmax

from graphrec.graph.diffusion import (
    diffuse,
    diffusion_coefficients,
)


class AttentionDiffusion(nn.Module):
    """Attention computed once on the edges, then diffused over ``num_hops`` hops.

    Args:
        channels: feature size ``D`` of the node features (input = output size).
        num_hops: ``K`` (0 returns the input unchanged).
        alpha: teleport probability :math:`\\alpha \\in (0, 1]` (1 returns the input).
        attention: learn GAT-style attention; ``False`` diffuses over the given weights.
        att_channels: size of the projection :math:`W` used only for the attention scores.
        negative_slope: LeakyReLU slope of the attention scores.
        dropout: dropout on the attention coefficients (training only).
        dense: diffuse with a dense ``(C, C)`` product (``True``), a gather-scatter over the
            edges (``False``) or choose by the graph's density (``None``, :func:`use_dense`).
        weights: how the truncated hop weights sum to one, ``"remainder"`` (default) or
            ``"normalized"`` (decreasing; :func:`graphrec.graph.diffusion.diffusion_coefficients`).

    Shapes:
        ``x`` ``(C, D)``, ``edge_index`` ``(2, E)`` (``j -> i`` = ``edge_index[:, e] = (j, i)``),
        ``edge_weight`` ``(E,)`` positive or ``None`` -> output ``(C, D)``.
    """

    theta: Tensor  # buffer (K + 1,): the hop weights

    def __init__(
        self,
        channels: int,
        num_hops: int = 3,
        alpha: float = 0.15,
        attention: bool = True,
        att_channels: int | None = None,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        dense: bool | None = None,
        weights: str = "remainder",
    ) -> None:
        super().__init__()
        self.dense = dense
        self.channels = channels
        self.num_hops = num_hops
        self.alpha = alpha
        self.attention = attention
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.register_buffer("theta", diffusion_coefficients(num_hops, alpha, weights), persistent=False)
        att_channels = att_channels or channels
        if attention:
            self.lin = nn.Linear(channels, att_channels, bias=False)
            self.att_src = nn.Parameter(torch.empty(att_channels))
            self.att_dst = nn.Parameter(torch.empty(att_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.attention:
            nn.init.xavier_uniform_(self.lin.weight)
            bound = 1.0 / self.att_src.numel() ** 0.5
            nn.init.uniform_(self.att_src, -bound, bound)
            nn.init.uniform_(self.att_dst, -bound, bound)

    def edge_attention(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """``(E,)`` coefficients :math:`A_{ij}` of every edge ``j -> i``; rows sum to 1."""
        src, dst = edge_index[0], edge_index[1]
        if not self.attention:
            if edge_weight is None:
                return torch.ones(edge_index.shape[1], dtype=x.dtype, device=x.device)
            return edge_weight.to(x.dtype)
        wx = self.lin(x)  # (C, D_att)
        score_src = wx @ self.att_src  # (C,)
        score_dst = wx @ self.att_dst  # (C,)
        logits = F.leaky_relu(score_src[src] + score_dst[dst], self.negative_slope)  # (E,)
        if edge_weight is not None:
            logits = logits + edge_weight.to(logits.dtype).clamp_min(1e-30).log()
        att = softmax(logits, dst, num_nodes=x.shape[0])  # (E,) softmax over in-neighbours
        return F.dropout(att, p=self.dropout, training=self.training)

    def diffuse(self, x: Tensor, edge_index: Tensor, coeff: Tensor) -> Tensor:
        """The hop sum with this layer's ``theta`` (:func:`graphrec.graph.diffusion.diffuse`)."""
        if self.alpha == 1.0:  # theta = (1, 0, ..., 0)
            return x
        return diffuse(x, edge_index, coeff, self.theta, self.dense)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        if self.num_hops == 0 or self.alpha == 1.0:
            return x
        coeff = self.edge_attention(x, edge_index, edge_weight)
        return self.diffuse(x, edge_index, coeff)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.channels}, num_hops={self.num_hops}, "
            f"alpha={self.alpha}, attention={self.attention})"
        )
