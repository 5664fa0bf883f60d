"""Gated graph neural network cell of SR-GNN (Wu et al., "Session-based Recommendation
with Graph Neural Networks", AAAI 2019, Eq. 1-5), on batched session graphs.

For node :math:`v_i` with state :math:`h_i`, one propagation step is

.. math::

    a_i &= \\Big[\\sum_{j \\to i} \\tfrac{w_{ji}}{d^{in}_i} (W_{in} h_j + b_{in}) + b_{iah};\\
               \\sum_{i \\to j} \\tfrac{w_{ij}}{d^{out}_i} (W_{out} h_j + b_{out}) + b_{oah}\\Big] \\\\
    r_i &= \\sigma(W_r a_i + U_r h_i), \\quad z_i = \\sigma(W_z a_i + U_z h_i) \\\\
    \\tilde h_i &= \\tanh(W_n a_i + r_i \\odot U_n h_i), \\quad
    h_i' = \\tilde h_i + z_i \\odot (h_i - \\tilde h_i)

with :math:`d^{in}_i = \\sum_{j \\to i} w_{ji}` and :math:`d^{out}_i = \\sum_{i \\to j} w_{ij}`
(SR-GNN's in/out-degree normalised adjacency; :math:`w = 1` per distinct transition).
Messages are a weighted sum over ``edge_index`` (PyG ``MessagePassing``), so a
batch of sessions is processed as one disjoint graph.

:meth:`GatedSessionGNN.forward_relations` runs the same cell with the two message
channels given as two separate edge sets (messages flowing ``src -> dst`` in both)
instead of one edge set read forwards and backwards; the causal session encoder
(:mod:`graphrec.nn.encoders`) uses it so that every message comes from an earlier
position.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter


def degree_normalized_weights(
    edge_index: Tensor, edge_weight: Tensor, num_nodes: int
) -> tuple[Tensor, Tensor]:
    """``(E,)`` in-weights :math:`w_{ji}/d^{in}_i` and ``(E,)`` out-weights :math:`w_{ij}/d^{out}_i`."""
    src, dst = edge_index[0], edge_index[1]
    deg_in = scatter(edge_weight, dst, dim=0, dim_size=num_nodes, reduce="sum")  # (M,)
    deg_out = scatter(edge_weight, src, dim=0, dim_size=num_nodes, reduce="sum")  # (M,)
    return edge_weight / deg_in[dst], edge_weight / deg_out[src]


class GatedSessionGNN(MessagePassing):
    """SR-GNN's gated graph layer, ``num_steps`` propagation steps with shared weights.

    Args:
        hidden_size: node state size ``D``.
        num_steps: propagation steps (SR-GNN uses 1).

    Shapes:
        ``h`` ``(M, D)``, ``edge_index`` ``(2, E)``, ``edge_weight`` ``(E,)`` or ``None`` -> ``(M, D)``;
        :meth:`forward_relations`: ``h`` ``(M, D)``, ``in_edge_index`` ``(2, E_1)``,
        ``out_edge_index`` ``(2, E_2)`` -> ``(M, D)``.
    """

    def __init__(self, hidden_size: int, num_steps: int = 1) -> None:
        super().__init__(aggr="add")
        self.hidden_size = hidden_size
        self.num_steps = num_steps
        self.lin_in = nn.Linear(hidden_size, hidden_size)  # W_in, b_in
        self.lin_out = nn.Linear(hidden_size, hidden_size)  # W_out, b_out
        self.bias_iah = nn.Parameter(torch.empty(hidden_size))
        self.bias_oah = nn.Parameter(torch.empty(hidden_size))
        self.lin_ih = nn.Linear(2 * hidden_size, 3 * hidden_size)  # W_r, W_z, W_n
        self.lin_hh = nn.Linear(hidden_size, 3 * hidden_size)  # U_r, U_z, U_n
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / self.hidden_size**0.5  # SR-GNN's uniform initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, h: Tensor, edge_index: Tensor, w_in: Tensor, w_out: Tensor) -> Tensor:
        """One gated propagation step; ``(M, D) -> (M, D)``."""
        a_in = self.propagate(edge_index, x=self.lin_in(h), weight=w_in) + self.bias_iah  # (M, D)
        a_out = self.propagate(edge_index.flip(0), x=self.lin_out(h), weight=w_out) + self.bias_oah  # (M, D)
        return self.gate(h, a_in, a_out)

    def gate(self, h: Tensor, a_in: Tensor, a_out: Tensor) -> Tensor:
        """GRU-style update (Eq. 2-5) from the two aggregated messages; ``(M, D) -> (M, D)``."""
        gi = self.lin_ih(torch.cat([a_in, a_out], dim=-1))  # (M, 3D)
        gh = self.lin_hh(h)  # (M, 3D)
        i_r, i_z, i_n = gi.chunk(3, dim=-1)  # 3 x (M, D)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)  # 3 x (M, D)
        reset = torch.sigmoid(i_r + h_r)
        update = torch.sigmoid(i_z + h_z)
        candidate = torch.tanh(i_n + reset * h_n)
        return candidate + update * (h - candidate)

    def forward(self, h: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        if edge_weight is None:
            edge_weight = h.new_ones(edge_index.shape[1])
        w_in, w_out = degree_normalized_weights(edge_index, edge_weight.to(h.dtype), h.shape[0])
        for _ in range(self.num_steps):
            h = self.step(h, edge_index, w_in, w_out)
        return h

    def relation_step(
        self, h: Tensor, in_edge_index: Tensor, w_in: Tensor, out_edge_index: Tensor, w_out: Tensor
    ) -> Tensor:
        """One gated step with the two channels on separate edge sets; ``(M, D) -> (M, D)``.

        .. math::
            a_i = \\Big[\\sum_{(j, i) \\in E_1} w^1_{ji} (W_{in} h_j + b_{in}) + b_{iah};\\
                       \\sum_{(j, i) \\in E_2} w^2_{ji} (W_{out} h_j + b_{out}) + b_{oah}\\Big]

        ``step(h, E, w_in, w_out)`` is ``relation_step(h, E, w_in, E.flip(0), w_out)``.
        """
        a_in = self.propagate(in_edge_index, x=self.lin_in(h), weight=w_in) + self.bias_iah  # (M, D)
        a_out = self.propagate(out_edge_index, x=self.lin_out(h), weight=w_out) + self.bias_oah  # (M, D)
        return self.gate(h, a_in, a_out)

    def forward_relations(self, h: Tensor, in_edge_index: Tensor, out_edge_index: Tensor) -> Tensor:
        """``num_steps`` of :meth:`relation_step`, each channel a mean over its in-neighbours.

        Args:
            h: ``(M, D)`` node states.
            in_edge_index: ``(2, E_1)`` edges ``src -> dst`` of the first channel (``W_in``).
            out_edge_index: ``(2, E_2)`` edges ``src -> dst`` of the second channel (``W_out``).

        Returns:
            ``(M, D)``; node ``i`` only ever receives messages along edges into ``i``.
        """
        m = h.shape[0]
        w_in, _ = degree_normalized_weights(in_edge_index, h.new_ones(in_edge_index.shape[1]), m)  # (E_1,)
        w_out, _ = degree_normalized_weights(out_edge_index, h.new_ones(out_edge_index.shape[1]), m)  # (E_2,)
        for _ in range(self.num_steps):
            h = self.relation_step(h, in_edge_index, w_in, out_edge_index, w_out)
        return h

    def message(self, x_j: Tensor, weight: Tensor) -> Tensor:
        return weight.unsqueeze(-1) * x_j  # (E, D)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.hidden_size}, num_steps={self.num_steps})"
