"""Multi-hop diffusion weights (HPCL4SR Eq. 2, after MAGNA): pure graph math.

.. math::

    \\mathcal{A} = \\sum_{k=0}^{K} \\theta_k A^k, \\qquad
    \\theta_k = \\alpha (1 - \\alpha)^k \\ (k < K), \\quad \\theta_K = (1 - \\alpha)^K,

so :math:`\\sum_k \\theta_k = 1` exactly. The layer that diffuses attention with these
weights is :class:`graphrec.nn.diffusion.AttentionDiffusion`; graph analysis uses them
to measure how far diffusion spreads.
"""

from __future__ import annotations

import torch
from torch import Tensor


def diffusion_coefficients(num_hops: int, alpha: float) -> Tensor:
    """``(K + 1,)`` :math:`\\theta_k = \\alpha(1-\\alpha)^k`;
    the remainder :math:`(1-\\alpha)^K` on hop ``K``."""
    if num_hops < 0:
        raise ValueError(f"num_hops must be >= 0, got {num_hops}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    k = torch.arange(num_hops + 1, dtype=torch.float64)
    theta = alpha * (1.0 - alpha) ** k
    theta[-1] = (1.0 - alpha) ** num_hops
    return theta.float()


__all__ = ["diffusion_coefficients"]
