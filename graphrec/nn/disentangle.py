"""DSSRec's intention-disentanglement layer: ``K`` prototype intentions pool a sequence's states.

Ma et al., "Disentangled Self-Supervision in Sequential Recommenders" (DSSRec), KDD 2020, §4.3.

Given the states :math:`z_1 \\dots z_t` of a sequence encoder (the latent intention behind
each click), the layer returns one vector per latent category ``k``:

* **intention clustering** — learnable prototypes :math:`c_k` and a scaled cosine:

  .. math::
      p_{k|i} = \\mathrm{softmax}_k\\Big(\\tfrac{1}{\\sqrt D}\\,
      \\mathrm{LN}_1(z_i) \\cdot \\mathrm{LN}_2(c_k)\\Big)

* **intention weighting** — a position-aware importance of each position for the future,
  with layer-own position vectors :math:`\\alpha_i` (aligned to the newest item):

  .. math::
      \\tilde k_i = \\mathrm{LN}_3(\\alpha_i + z_i), \\quad
      k_i = \\tilde k_i + \\mathrm{ReLU}(W \\tilde k_i + b), \\quad
      q = \\mathrm{LN}_4(\\alpha_t + z_t + b'), \\quad
      p_i = \\mathrm{softmax}_i\\Big(\\tfrac{1}{\\sqrt D} k_i \\cdot q\\Big)

* **aggregation** — with one bias :math:`\\beta_k` per category and *bias set* (DSSRec uses
  one set for the input sequence and one for the reversed future sequence):

  .. math::
      \\phi^{(k)} = \\mathrm{LN}_5\\Big(\\beta_k + \\sum_{i=1}^{t} p_{k|i}\\, p_i\\, z_i\\Big)

The weights :math:`w_{k,i} = p_{k|i} p_i` are non-negative, zero at padding and sum to one
over all ``(k, i)`` of a sequence (:meth:`IntentionDisentangle.weights`): a convex
combination of the states, split over the ``K`` categories.

**Every prefix at once** (:meth:`IntentionDisentangle.forward_prefixes`). The states of a
causal encoder at column ``t`` depend on columns ``<= t`` only, so one pass over a window
gives the states of every prefix; the layer then pools, for every column ``t``, the prefix
ending there. :math:`p_{k|i}` is per position; the keys :math:`k_i` are computed once, with
:math:`\\alpha` aligned to the window's newest column as for :meth:`~IntentionDisentangle.forward`,
and the importance becomes a causal attention with one query per column:

.. math::
    q_t = \\mathrm{LN}_4(\\alpha_t + z_t + b'), \\quad
    p_i(t) = \\mathrm{softmax}_{i \\le t}\\Big(\\tfrac{1}{\\sqrt D} k_i \\cdot q_t\\Big), \\quad
    \\phi^{(k)}_t = \\mathrm{LN}_5\\Big(\\beta_k + \\sum_{i \\le t} p_{k|i}\\, p_i(t)\\, z_i\\Big)

Column ``t`` equals (to rounding) :meth:`~IntentionDisentangle.forward` of ``z[:, :t + 1]``
with the whole window's positions (``width=W``); the last column is ``forward(z, valid)``. The one
difference from pooling each prefix as a window of its own is the position alignment: a
prefix keeps the positions it has in the whole window (its newest item is not moved to the
last position row), as SASRec trains every position of a window in one causal pass.

**Readings.** :math:`z_t` and :math:`\\alpha_t` are the newest (last, left-padded) column; the
softmax over ``i`` runs over the real positions only; a row without any real position
gives :math:`p_i = 0` everywhere (the aggregation is then :math:`\\mathrm{LN}_5(\\beta_k)`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from graphrec.nn.embedding import right_aligned
from graphrec.nn.multi_interest import MASKED_SCORE


class IntentionDisentangle(nn.Module):
    """``K`` intention prototypes pool ``(B, W, D)`` states into ``(B, K, D)`` (see the module docstring).

    Args:
        hidden_size: ``D``.
        num_intents: ``K`` (default 4).
        max_len: longest window; the layer's own position vectors :math:`\\alpha` (default 50).
        num_bias_sets: sets of :math:`\\beta_k` (default 2: input sequence, reversed future).
        init_std: std of the normal initialisation of :math:`c_k`, :math:`\\alpha`, :math:`\\beta`
            (default 0.02).

    Shapes:
        ``forward(z, valid, bias_set=0)``: ``z`` ``(B, W, D)``, ``valid`` ``(B, W)`` bool,
        ``W <= max_len`` -> ``(B, K, D)``; :meth:`weights` -> ``p_{k|i}`` ``(B, K, W)`` and
        ``p_i`` ``(B, W)``; ``forward_prefixes(z, valid, bias_set=0)`` -> ``(B, W, K, D)``
        (column ``t``: the prefix ending at ``t``); :meth:`prefix_weights` -> ``p_{k|i}``
        ``(B, K, W)`` and ``p_i(t)`` ``(B, W, W)``.
    """

    def __init__(self, hidden_size: int, num_intents: int = 4, max_len: int = 50, num_bias_sets: int = 2,
                 init_std: float = 0.02) -> None:
        super().__init__()
        if num_intents < 1 or num_bias_sets < 1:
            raise ValueError(f"num_intents and num_bias_sets must be >= 1, "
                             f"got {num_intents}, {num_bias_sets}")
        self.hidden_size = int(hidden_size)
        self.num_intents = int(num_intents)
        self.max_len = int(max_len)
        self.init_std = float(init_std)
        self.prototypes = nn.Parameter(torch.empty(num_intents, hidden_size))  # c_k (K, D)
        self.position = nn.Parameter(torch.empty(max_len, hidden_size))  # alpha (L, D)
        self.beta = nn.Parameter(torch.empty(num_bias_sets, num_intents, hidden_size))  # beta (S, K, D)
        self.query_bias = nn.Parameter(torch.empty(hidden_size))  # b'
        self.key_map = nn.Linear(hidden_size, hidden_size)  # W, b
        self.norm_state = nn.LayerNorm(hidden_size)  # LN_1
        self.norm_proto = nn.LayerNorm(hidden_size)  # LN_2
        self.norm_key = nn.LayerNorm(hidden_size)  # LN_3
        self.norm_query = nn.LayerNorm(hidden_size)  # LN_4
        self.norm_out = nn.LayerNorm(hidden_size)  # LN_5
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.prototypes, self.position, self.beta):
            nn.init.normal_(p, std=self.init_std)
        nn.init.zeros_(self.query_bias)
        nn.init.xavier_uniform_(self.key_map.weight)
        nn.init.zeros_(self.key_map.bias)
        for norm in (self.norm_state, self.norm_proto, self.norm_key, self.norm_query, self.norm_out):
            norm.reset_parameters()

    def _positions(self, length: int, width: int | None) -> Tensor:
        """``(W, D)`` rows of :math:`\\alpha` for ``W = length`` columns of a window of ``width`` columns.

        Column ``i`` uses row ``max_len - width + i``: the newest column of the window gets the
        last row, as in :class:`~graphrec.nn.embedding.SequenceEmbedding`.
        """
        rows = right_aligned(self.position, length if width is None else int(width))  # (width, D)
        if length > rows.shape[0]:
            raise ValueError(f"{length} columns do not fit a window of width {rows.shape[0]}")
        return rows[:length]  # (W, D)

    def _memberships(self, z: Tensor, valid: Tensor) -> Tensor:
        """``p_{k|i}`` ``(B, K, W)``: softmax over ``k``, zero at padding."""
        scale = 1.0 / math.sqrt(self.hidden_size)
        protos = self.norm_proto(self.prototypes)  # (K, D)
        cluster = torch.einsum("bwd,kd->bkw", self.norm_state(z), protos)  # (B, K, W)
        p_k_i = torch.softmax(cluster * scale, dim=1)  # (B, K, W) over k
        return p_k_i * valid.unsqueeze(1).to(z.dtype)

    def _keys(self, z: Tensor, alpha: Tensor) -> Tensor:
        """``k_i = k~_i + ReLU(W k~_i + b)``, ``k~_i = LN_3(alpha_i + z_i)``: ``(B, W, D)``."""
        key_t = self.norm_key(alpha + z)  # (B, W, D) key~_i
        return key_t + torch.relu(self.key_map(key_t))  # (B, W, D) key_i

    def weights(self, z: Tensor, valid: Tensor, width: int | None = None) -> tuple[Tensor, Tensor]:
        """``p_{k|i}`` ``(B, K, W)`` (softmax over ``k``) and ``p_i`` ``(B, W)`` (softmax over real ``i``).

        ``width``: the window the ``W`` columns are the oldest columns of (default ``W``; see
        :meth:`forward`).
        """
        width_z = z.shape[1]
        alpha = self._positions(width_z, width)  # (W, D)
        scale = 1.0 / math.sqrt(self.hidden_size)
        p_k_i = self._memberships(z, valid)  # (B, K, W)
        key = self._keys(z, alpha)  # (B, W, D)
        query = self.norm_query(alpha[-1] + z[:, -1] + self.query_bias)  # (B, D)
        scores = torch.einsum("bwd,bd->bw", key, query) * scale  # (B, W)
        scores = scores.masked_fill(~valid, MASKED_SCORE)
        p_i = torch.softmax(scores, dim=1) * valid.to(z.dtype)  # (B, W), 0 for all-padding rows
        return p_k_i, p_i

    def forward(self, z: Tensor, valid: Tensor, bias_set: int = 0, width: int | None = None) -> Tensor:
        """:math:`\\phi^{(k)}` of the sequence ending at the last column: ``(B, K, D)``.

        ``width`` (default ``W``): the width of the window whose oldest ``W`` columns ``z``
        holds, for the positions :math:`\\alpha` -- column ``i`` uses row
        ``max_len - width + i``. With the default the last column gets the last row; a prefix
        ``z[:, :t + 1]`` of a longer window keeps that window's positions with ``width=W``,
        which is what :meth:`forward_prefixes` computes for every ``t`` at once.
        """
        p_k_i, p_i = self.weights(z, valid, width)  # (B, K, W), (B, W)
        pooled = torch.einsum("bkw,bw,bwd->bkd", p_k_i, p_i, z)  # (B, K, D) sum_i p_{k|i} p_i z_i
        return self.norm_out(self.beta[bias_set] + pooled)  # (B, K, D) phi^(k)

    def prefix_weights(self, z: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """``p_{k|i}`` ``(B, K, W)`` and the causal importance ``p_i(t)`` ``(B, W, W)`` (``[b, t, i]``).

        .. math::
            p_i(t) = \\mathrm{softmax}_{i \\le t,\\ i \\text{ real}}
            \\Big(\\tfrac{1}{\\sqrt D}\\, k_i \\cdot q_t\\Big), \\qquad
            q_t = \\mathrm{LN}_4(\\alpha_t + z_t + b')

        with the keys :math:`k_i` and positions :math:`\\alpha` of the whole window (newest
        column -> last row). ``p_i(t)`` is 0 for ``i > t``, at padding, and everywhere in a
        column ``t`` without a real position ``i <= t``.
        """
        width = z.shape[1]
        alpha = self._positions(width, None)  # (W, D)
        scale = 1.0 / math.sqrt(self.hidden_size)
        p_k_i = self._memberships(z, valid)  # (B, K, W)
        key = self._keys(z, alpha)  # (B, W, D) k_i, once for every prefix
        query = self.norm_query(alpha + z + self.query_bias)  # (B, W, D) q_t
        scores = torch.einsum("btd,bid->bti", query, key) * scale  # (B, W_t, W_i)
        causal = torch.ones(width, width, dtype=torch.bool, device=z.device).tril()  # (W_t, W_i) i <= t
        allowed = causal.unsqueeze(0) & valid.unsqueeze(1)  # (B, W_t, W_i)
        scores = scores.masked_fill(~allowed, MASKED_SCORE)
        p_it = torch.softmax(scores, dim=2) * allowed.to(z.dtype)  # (B, W_t, W_i)
        return p_k_i, p_it

    def forward_prefixes(self, z: Tensor, valid: Tensor, bias_set: int = 0) -> Tensor:
        """:math:`\\phi^{(k)}_t` of the prefix ending at every column ``t``: ``(B, W, K, D)``.

        .. math::
            \\phi^{(k)}_t = \\mathrm{LN}_5\\Big(\\beta_k + \\sum_{i \\le t} p_{k|i}\\, p_i(t)\\, z_i\\Big)

        (:meth:`prefix_weights`). Column ``t`` equals ``forward(z[:, :t + 1], valid[:, :t + 1],
        bias_set, width=W)``: the prefix keeps the positions of the whole window. The last
        column is ``forward(z, valid, bias_set)``. A column without a real position ``i <= t``
        gives :math:`\\mathrm{LN}_5(\\beta_k)`.
        """
        p_k_i, p_it = self.prefix_weights(z, valid)  # (B, K, W), (B, W_t, W_i)
        parts = p_k_i.unsqueeze(-1) * z.unsqueeze(1)  # (B, K, W_i, D) p_{k|i} z_i
        pooled = torch.matmul(p_it.unsqueeze(1), parts)  # (B, K, W_t, D)
        return self.norm_out(self.beta[bias_set] + pooled.transpose(1, 2))  # (B, W_t, K, D)

    def extra_repr(self) -> str:
        return (f"hidden_size={self.hidden_size}, num_intents={self.num_intents}, max_len={self.max_len}, "
                f"num_bias_sets={self.beta.shape[0]}")


__all__ = ["IntentionDisentangle"]
