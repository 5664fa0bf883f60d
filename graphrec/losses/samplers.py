"""Negative samplers over the item catalogue: their log-probabilities and draws."""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: negative samplers of :func:`candidate_log_probs`
CANDIDATE_SAMPLERS: tuple[str, ...] = ("uniform", "log_uniform")


def candidate_log_probs(num_items: int, kind: str = "log_uniform",
                        item_counts: Tensor | None = None) -> Tensor:
    """Log sampling probability :math:`\\log Q(i)` of a negative sampler over items ``1..N``.

    * ``"uniform"``: :math:`Q(i) = 1/N`;
    * ``"log_uniform"``: the Zipfian sampler of TensorFlow's ``sampled_softmax_loss``
      (``log_uniform_candidate_sampler``), which ComiRec and MIND train with, over the
      items ranked by training frequency (rank :math:`r_i = 0` for the most frequent):

      .. math::
          Q(i) = \\frac{\\log(r_i + 2) - \\log(r_i + 1)}{\\log(N + 1)}

      The TensorFlow sampler ranks by item *id*; the ComiRec preprocessing numbers items
      by decreasing frequency, so ranking by training count is the same sampler on data
      numbered otherwise. Without ``item_counts`` the ids are the ranks (TensorFlow's
      literal behaviour). Ties keep the id order.

    Args:
        num_items: ``N``.
        kind: ``"uniform"`` or ``"log_uniform"``.
        item_counts: optional ``(N + 1,)`` training interactions per item (entry 0 ignored).

    Returns:
        ``(N + 1,)`` float32 :math:`\\log Q`, entry 0 (padding) ``-inf``; :math:`\\sum_i Q(i) = 1`.
    """
    if kind not in CANDIDATE_SAMPLERS:
        raise ValueError(f"unknown negative sampler {kind!r}; valid: {list(CANDIDATE_SAMPLERS)}")
    if num_items < 1:
        raise ValueError(f"num_items must be >= 1, got {num_items}")
    out = torch.full((num_items + 1,), float("-inf"), dtype=torch.float64)
    if kind == "uniform":
        out[1:] = -math.log(num_items)
        return out.float()
    if item_counts is None:
        rank = torch.arange(num_items, dtype=torch.float64)  # (N,) rank = id - 1
    else:
        counts = torch.as_tensor(item_counts).reshape(-1)
        if counts.numel() != num_items + 1:
            raise ValueError(f"item_counts must have N + 1 = {num_items + 1} entries, got {counts.numel()}")
        order = torch.sort(-counts[1:].double(), stable=True).indices  # (N,) items by falling count
        rank = torch.empty(num_items, dtype=torch.float64)
        rank[order] = torch.arange(num_items, dtype=torch.float64)  # (N,) rank of item i + 1
    out[1:] = torch.log(torch.log((rank + 2.0) / (rank + 1.0)) / math.log(num_items + 1.0))
    return out.float()


def sample_candidates(log_q: Tensor, num: int, generator: torch.Generator | None = None) -> Tensor:
    """``(num,)`` item ids drawn with replacement from :math:`Q` (``log_q`` from :func:`candidate_log_probs`).

    Drawn on the device of ``log_q`` (the generator, if given, must live there).
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    return torch.multinomial(log_q.exp(), num, replacement=True, generator=generator)
