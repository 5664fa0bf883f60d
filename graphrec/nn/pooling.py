"""One vector per sequence from per-position states: last position, mean, or concatenation.

Contrastive and intent methods compare *sequence* representations, read off the
``(B, L, D)`` states of a sequence encoder (zero at left padding):

* ``"last"`` — the newest position :math:`h_L`, the state that scores the next item
  (SASRec's user representation; CL4SRec, S4Rec);
* ``"mean"`` — the mean over the real positions :math:`\\frac{1}{n}\\sum_{t} h_t`
  (ICLRec's ``seq_representation_type=mean``; the released code averages over all
  ``L`` columns, padding included, which only rescales rows by ``n / L``);
* ``"concat"`` — all positions flattened, :math:`[h_1; \\dots; h_L]` (ICLRec's
  instance contrast, ``concatenate``). Padding states are zero and the rows are
  right-aligned, so dot products between such vectors do not depend on how many
  padding columns the batch carries; vectors compared with each other must come
  from one batch (one width).
"""

from __future__ import annotations

from torch import Tensor

POOLINGS = ("last", "mean", "concat")


def pool_sequence(states: Tensor, valid: Tensor, how: str = "last") -> Tensor:
    """Pool ``(B, L, D)`` states of left-padded rows into one vector per row.

    .. math::
        z^{last} = h_L, \\qquad z^{mean} = \\frac{\\sum_t v_t h_t}{\\max(1, \\sum_t v_t)}, \\qquad
        z^{concat} = [h_1; \\dots; h_L]

    Args:
        states: ``(B, L, D)`` per-position states.
        valid: ``(B, L)`` bool, True at real positions.
        how: ``"last"``, ``"mean"`` or ``"concat"``.

    Returns:
        ``(B, D)`` (``last``, ``mean``) or ``(B, L * D)`` (``concat``).
    """
    if how == "last":
        return states[:, -1]  # (B, D)
    if how == "mean":
        weights = valid.unsqueeze(-1).to(states.dtype)  # (B, L, 1)
        return (states * weights).sum(1) / weights.sum(1).clamp_min(1.0)  # (B, D)
    if how == "concat":
        masked = states * valid.unsqueeze(-1).to(states.dtype)  # (B, L, D), zero at padding
        return masked.reshape(states.shape[0], -1)  # (B, L * D)
    raise ValueError(f"unknown pooling {how!r}; valid: {list(POOLINGS)}")


__all__ = ["POOLINGS", "pool_sequence"]
