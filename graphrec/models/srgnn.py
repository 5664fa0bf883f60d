"""SR-GNN (Wu et al., "Session-based Recommendation with Graph Neural Networks", AAAI 2019).

Each sequence becomes a session graph (:func:`graphrec.graph.session.session_graphs`),
node states are refined by the gated GNN (:class:`graphrec.nn.gated_gnn.GatedSessionGNN`)
and read out with soft attention against the last item (SR-GNN Eq. 6-8):

.. math::

    \\alpha_i = q^\\top \\sigma(W_1 v_n + W_2 v_i + c), \\qquad
    s_g = \\sum_i \\alpha_i v_i, \\qquad
    s_h = W_3 [v_n; s_g]

where :math:`v_i` is the node state at position ``i`` (repeated items count once
per position, as in SR-GNN) and :math:`v_n` the state of the newest item. The
interest is :math:`s_h` ``(B, 1, D)``, scored by inner product with the item table.

Training under leave-one-out. A training row holds ``s[:-2]`` with a target at
every position. SR-GNN predicts only from a whole session graph, and the graph
of a full row contains items *after* any earlier position, so predicting an
early target from it would leak the future. Instead, each row is cut at
``cuts_per_row`` positions drawn uniformly from its real positions; the prefix
up to the cut (left-padded again) is turned into a session graph and predicts
the target at the cut. Over epochs every prefix is visited, which is SR-GNN's
prefix augmentation without materialising it. The loss is full softmax cross
entropy over all items (padding excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from graphrec.data.augment import random_prefixes
from graphrec.data.batch import SeqBatch
from graphrec.graph.session import session_graphs
from graphrec.losses import full_softmax_ce
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.nn.gated_gnn import GatedSessionGNN


@dataclass(frozen=True)
class SRGNNConfig(ModelConfig):
    """Options of :class:`SRGNN`.

    Attributes:
        hidden_size: ``D``.
        num_steps: gated GNN propagation steps.
        dropout: dropout on the item embeddings fed to the GNN.
        init_std: std of the normal initialisation of the item table (small, so
            the initial cross entropy is near ``ln N``).
        cuts_per_row: random prefixes per training row (see the module docstring).
        weighted_edges: use transition counts as session-graph edge weights.
    """

    hidden_size: int = 64
    num_steps: int = 1
    dropout: float = 0.0
    init_std: float = 0.02
    cuts_per_row: int = 1
    weighted_edges: bool = False


class SRGNN(SequentialRecommender):
    """SR-GNN on left-padded batches.

    Args:
        num_items: ``N`` (ids ``1..N``, 0 = padding).
        config: :class:`SRGNNConfig` (or its fields as keywords).
    """

    Config = SRGNNConfig

    def __init__(self, num_items: int, config: SRGNNConfig | None = None, **options: Any) -> None:
        super().__init__(num_items, config, **options)
        config = self.config
        hidden_size, num_steps, dropout = config.hidden_size, config.num_steps, config.dropout
        self.hidden_size = hidden_size
        self.init_std = config.init_std
        self.cuts_per_row = config.cuts_per_row
        self.weighted_edges = config.weighted_edges
        self.item_emb = nn.Embedding(num_items + 1, hidden_size, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.gnn = GatedSessionGNN(hidden_size, num_steps)
        self.lin_last = nn.Linear(hidden_size, hidden_size)  # W_1
        self.lin_pos = nn.Linear(hidden_size, hidden_size, bias=False)  # W_2 (c is W_1's bias)
        self.att_q = nn.Linear(hidden_size, 1, bias=False)  # q
        self.lin_out = nn.Linear(2 * hidden_size, hidden_size, bias=False)  # W_3
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item_emb.weight, std=self.init_std)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        self.gnn.reset_parameters()
        for lin in (self.lin_last, self.lin_pos, self.att_q, self.lin_out):
            lin.reset_parameters()

    def item_embeddings(self) -> Tensor:
        return self.item_emb.weight

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` left-padded ids -> ``(B, D)`` session representation :math:`s_h`."""
        graph = session_graphs(input_ids, weighted=self.weighted_edges)
        h = self.dropout(self.item_emb(graph.x))  # (M, D)
        h = self.gnn(h, graph.edge_index, graph.edge_weight)  # (M, D)
        real = graph.alias >= 0  # (B, L)
        seq = h[graph.alias.clamp_min(0)] * real.unsqueeze(-1)  # (B, L, D) v_i per position
        last = h[graph.last_node.clamp_min(0)] * (graph.last_node >= 0).unsqueeze(-1)  # (B, D) v_n
        gate = torch.sigmoid(self.lin_last(last).unsqueeze(1) + self.lin_pos(seq))  # (B, L, D)
        alpha = self.att_q(gate) * real.unsqueeze(-1)  # (B, L, 1)
        s_g = (alpha * seq).sum(dim=1)  # (B, D)
        return self.lin_out(torch.cat([last, s_g], dim=-1))  # (B, D) s_h

    def interests(self, batch: SeqBatch) -> Tensor:
        return self.encode(batch.input_ids).unsqueeze(1)  # (B, 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("SRGNN.loss_terms needs a training batch with target_ids")
        prefix, targets = random_prefixes(batch.input_ids, batch.target_ids, self.cuts_per_row)
        hidden = self.encode(prefix)  # (P, D)
        return {"rec": full_softmax_ce(hidden, self.item_embeddings(), targets)}

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}, hidden_size={self.hidden_size}, cuts_per_row={self.cuts_per_row}"
