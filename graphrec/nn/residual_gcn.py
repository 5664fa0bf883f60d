"""Residual GCN over the diffused category graph and the category lookup (HPCL4SR Eq. 3-5).

Each layer propagates with the multi-hop diffusion operator :math:`\\mathcal{A}`
of Eq. 2 (:class:`graphrec.nn.diffusion.AttentionDiffusion`), applies a linear
map and adds the layer input back:

.. math::

    H^{(l)} = W^{(l)} (\\mathcal{A} H^{(l-1)}) + H^{(l-1)}, \\qquad l = 1..L \\quad (3)

    \\hat H = \\frac{1}{L + 1} \\sum_{l=0}^{L} H^{(l)} \\quad (4)

The paper prints Eq. 4 as :math:`\\hat H = -\\frac{1}{L}\\sum_{i=0}^{L} H^{(i)}`. The minus
sign is treated as a typo (negating every category embedding only flips the sign
of a representation that is followed by a linear map, Eq. 6), and the sum has
``L + 1`` terms, so the layer mean divides by ``L + 1``.

Eq. 5 then selects, for every position of a sequence, the row of its item's
category: :func:`category_lookup`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.nn.diffusion import AttentionDiffusion


class ResidualGCN(nn.Module):
    """``num_layers`` residual diffusion-GCN layers and the layer mean (Eq. 3-4).

    Args:
        channels: embedding size ``d``.
        num_layers: ``L`` (0 returns the input).
        num_hops: diffusion hops ``K`` of Eq. 2 inside every layer.
        alpha: diffusion teleport probability (``theta_k = alpha (1 - alpha)^k``).
        attention: learn diffusion attention per layer (MAGNA); ``False`` diffuses
            over the given (Eq. 1 normalised) edge weights.
        dropout: dropout on each layer's update :math:`W(\\mathcal{A} H)`.
        diffusion_weights: the hop weights' form (:class:`~graphrec.nn.diffusion.AttentionDiffusion`).

    Shapes:
        ``x`` ``(C, d)`` category embeddings :math:`H^{(0)}`, ``edge_index`` ``(2, E)``,
        ``edge_weight`` ``(E,)`` -> :math:`\\hat H` ``(C, d)``.
    """

    def __init__(
        self,
        channels: int,
        num_layers: int = 2,
        num_hops: int = 3,
        alpha: float = 0.15,
        attention: bool = True,
        dropout: float = 0.0,
        diffusion_weights: str = "remainder",
    ) -> None:
        super().__init__()
        self.channels = channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.diffusions = nn.ModuleList(
            AttentionDiffusion(channels, num_hops=num_hops, alpha=alpha, attention=attention,
                               weights=diffusion_weights)
            for _ in range(num_layers)
        )
        self.linears = nn.ModuleList(nn.Linear(channels, channels, bias=False) for _ in range(num_layers))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for diffusion, linear in zip(self.diffusions, self.linears, strict=True):
            diffusion.reset_parameters()  # type: ignore[operator]  # ModuleList items are typed as Module
            nn.init.xavier_uniform_(linear.weight)  # type: ignore[arg-type]

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        h = x
        total = x
        for diffusion, linear in zip(self.diffusions, self.linears, strict=True):
            update = linear(diffusion(h, edge_index, edge_weight))  # W (A H^{l-1}), (C, d)
            h = F.dropout(update, p=self.dropout, training=self.training) + h  # H^l, (C, d)
            total = total + h
        return total / (self.num_layers + 1)  # \hat H, (C, d)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_layers={self.num_layers}"


def category_lookup(node_emb: Tensor, item_ids: Tensor, item_category: Tensor) -> Tensor:
    """HPCL4SR Eq. 5: the category embedding of every position of a sequence.

    Node ``c - 1`` of the category graph is category ``c``; padding (item 0) and
    items of unknown category (category 0) get a zero vector.

    Args:
        node_emb: ``(C, d)`` category node embeddings :math:`\\hat H`.
        item_ids: ``(B, L)`` item ids (0 = padding).
        item_category: ``(N + 1,)`` int64 item -> category table (0 = unknown).

    Returns:
        ``(B, L, d)`` :math:`H_g`.
    """
    table = torch.cat([node_emb.new_zeros(1, node_emb.shape[1]), node_emb])  # (C + 1, d), row 0 = unknown
    cats = item_category.to(item_ids.device)[item_ids]  # (B, L)
    return table[cats]  # (B, L, d)
