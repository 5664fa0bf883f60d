"""DSIE's local scale: intention prototypes cluster a sequence's items into ``K`` interests.

Dual-Scale Interest Extraction (DSIE, arXiv 2310.10025), local scale. The text describes
prototype clustering with noise filtering, position weighting and guided attention
without fixing every form; this layer is the simplest reading consistent with it.

For the item vectors :math:`e_1 \\dots e_W` of a sequence (real positions only), ``K``
learnable intention prototypes :math:`c_k` and a learned "noise" logit :math:`\\delta`:

* **clustering with noise filtering** — a softmax over the ``K`` prototypes *and* a null
  option, on cosine similarities at temperature :math:`\\tau_c`:

  .. math::
      P_{k|i} = \\frac{\\exp(\\cos(e_i, c_k)/\\tau_c)}
      {\\exp(\\delta) + \\sum_{k'} \\exp(\\cos(e_i, c_{k'})/\\tau_c)}

  An item far from every prototype puts its mass on the null option, so
  :math:`P_{k|i} \\to 0` for every ``k``: noisy behaviours get little weight.
* **position weighting and guided attention** — each prototype is the query of an
  attention over the items with their positions :math:`p_i` (aligned to the newest item):

  .. math::
      a_{k,i} = \\mathrm{softmax}_i\\Big(\\tfrac{1}{\\sqrt D}\\,
      (W_q c_k)^\\top W_k\\, \\mathrm{LN}(e_i + p_i)\\Big)

* **interest** ``k`` — the items weighted by both:

  .. math::
      m_k = \\sum_i P_{k|i}\\, a_{k,i}\\, e_i

  (weights non-negative, at most one per interest; a row whose items are all noise
  gives interests near zero).

With ``positions=False`` the position vectors are left out (the layer is then order-free).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.nn.embedding import right_aligned
from graphrec.nn.multi_interest import MASKED_SCORE


class IntentionPrototypeExtractor(nn.Module):
    """``K`` prototype-guided interests of a sequence with noise filtering (see the module docstring).

    Args:
        hidden_size: ``D``.
        num_interests: ``K`` (default 4).
        max_len: longest window (position vectors; default 50).
        cluster_temperature: :math:`\\tau_c` (default 0.1).
        positions: add position vectors to the attention keys (default True).
        init_std: std of the normal initialisation of prototypes and positions (default 0.02).

    Shapes:
        ``forward(e, valid)``: ``(B, W, D)``, ``(B, W)`` bool -> ``(B, K, D)``;
        :meth:`weights` -> ``P_{k|i}`` ``(B, K, W)`` and ``a_{k,i}`` ``(B, K, W)``.
    """

    def __init__(self, hidden_size: int, num_interests: int = 4, max_len: int = 50,
                 cluster_temperature: float = 0.1, positions: bool = True, init_std: float = 0.02) -> None:
        super().__init__()
        if num_interests < 1:
            raise ValueError(f"num_interests must be >= 1, got {num_interests}")
        if cluster_temperature <= 0:
            raise ValueError(f"cluster_temperature must be > 0, got {cluster_temperature}")
        self.hidden_size = int(hidden_size)
        self.num_interests = int(num_interests)
        self.max_len = int(max_len)
        self.cluster_temperature = float(cluster_temperature)
        self.init_std = float(init_std)
        self.prototypes = nn.Parameter(torch.empty(num_interests, hidden_size))  # c_k (K, D)
        self.noise_logit = nn.Parameter(torch.zeros(()))  # delta
        self.position = nn.Parameter(torch.empty(max_len, hidden_size)) if positions else None  # (L, D)
        self.query = nn.Linear(hidden_size, hidden_size, bias=False)  # W_q
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)  # W_k
        self.norm = nn.LayerNorm(hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.prototypes, std=1.0)  # directions only matter (cosine)
        nn.init.zeros_(self.noise_logit)
        if self.position is not None:
            nn.init.normal_(self.position, std=self.init_std)
        nn.init.xavier_uniform_(self.query.weight)
        nn.init.xavier_uniform_(self.key.weight)
        self.norm.reset_parameters()

    def relevance(self, e: Tensor, valid: Tensor) -> Tensor:
        """``(B, K, W)`` :math:`P_{k|i}` (zero at padding; :math:`\\sum_k P_{k|i} < 1`)."""
        cos = torch.einsum("bwd,kd->bkw", F.normalize(e, dim=-1),
                           F.normalize(self.prototypes, dim=-1)) / self.cluster_temperature  # (B, K, W)
        null = self.noise_logit.expand(cos.shape[0], 1, cos.shape[2])  # (B, 1, W)
        p = torch.softmax(torch.cat([cos, null], dim=1), dim=1)[:, :-1]  # (B, K, W) without the null option
        return p * valid.unsqueeze(1).to(e.dtype)

    def attention(self, e: Tensor, valid: Tensor) -> Tensor:
        """``(B, K, W)`` :math:`a_{k,i}`: prototype-guided attention over the real positions."""
        keys_in = e if self.position is None else e + right_aligned(self.position, e.shape[1])  # (B, W, D)
        keys = self.key(self.norm(keys_in))  # (B, W, D)
        queries = self.query(self.prototypes)  # (K, D)
        scores = torch.einsum("kd,bwd->bkw", queries, keys) / math.sqrt(self.hidden_size)  # (B, K, W)
        scores = scores.masked_fill(~valid.unsqueeze(1), MASKED_SCORE)
        return torch.softmax(scores, dim=-1) * valid.unsqueeze(1).to(e.dtype)  # (B, K, W)

    def weights(self, e: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """:math:`P_{k|i}` and :math:`a_{k,i}`, both ``(B, K, W)``."""
        return self.relevance(e, valid), self.attention(e, valid)

    def forward(self, e: Tensor, valid: Tensor) -> Tensor:
        relevance, attention = self.weights(e, valid)  # (B, K, W) each
        return (relevance * attention) @ e  # (B, K, D) m_k

    def extra_repr(self) -> str:
        return (f"hidden_size={self.hidden_size}, num_interests={self.num_interests}, "
                f"cluster_temperature={self.cluster_temperature}, positions={self.position is not None}")


__all__ = ["IntentionPrototypeExtractor"]
