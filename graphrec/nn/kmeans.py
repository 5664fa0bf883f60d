"""Seeded, batched k-means (Lloyd's algorithm) for clustering sequence representations.

ICLRec (Chen et al., "Intent Contrastive Learning for Sequential Recommendation",
WWW 2022, §4.2) clusters the representations of all training sequences into ``K``
intents at the start of every epoch. Lloyd's iterations minimise

.. math::
    \\sum_{m} \\min_k \\lVert x_m - c_k \\rVert_2^2

by alternating the assignment :math:`a_m = \\arg\\min_k \\lVert x_m - c_k \\rVert^2`
and the update :math:`c_k = \\operatorname{mean}\\{x_m : a_m = k\\}` (an empty
cluster keeps its centroid). Initial centroids are ``K`` distinct points drawn with
the given generator, so the result is a function of the inputs and the seed only.
"""

from __future__ import annotations

import torch
from torch import Tensor


def kmeans(x: Tensor, num_clusters: int, num_iters: int = 20,
           generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Cluster the rows of ``x``.

    Args:
        x: ``(M, D)`` points (``M >= num_clusters``).
        num_clusters: ``K``.
        num_iters: Lloyd iterations (stops early when assignments no longer change).
        generator: CPU generator for the initial centroids.

    Returns:
        ``(centroids (K, D), assignment (M,) int64)``.
    """
    num_points = x.shape[0]
    if num_clusters < 1 or num_points < num_clusters:
        raise ValueError(f"kmeans needs 1 <= num_clusters <= number of points, got K={num_clusters}, "
                         f"M={num_points}")
    first = torch.randperm(num_points, generator=generator)[:num_clusters].to(x.device)
    centroids = x[first].clone()  # (K, D)
    assignment = torch.full((num_points,), -1, dtype=torch.long, device=x.device)
    for _ in range(max(num_iters, 1)):
        # squared distances without forming (M, K, D): |x|^2 - 2 x.c + |c|^2
        dist = (x.pow(2).sum(1, keepdim=True) - 2 * x @ centroids.T
                + centroids.pow(2).sum(1).unsqueeze(0))  # (M, K)
        new = dist.argmin(dim=1)  # (M,)
        if torch.equal(new, assignment):
            break
        assignment = new
        sums = torch.zeros_like(centroids).index_add_(0, assignment, x)  # (K, D)
        counts = torch.bincount(assignment, minlength=num_clusters).to(x.dtype)  # (K,)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(1)
    return centroids, assignment


__all__ = ["kmeans"]
