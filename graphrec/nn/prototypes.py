"""Intent prototypes: learned online (SwAV / S4Rec) or refitted by k-means each epoch (ICLRec).

Two ways to hold ``K`` intent vectors :math:`\\mu \\in \\mathbb{R}^{K \\times D}`:

* :class:`Prototypes` — a trainable ``(K, D)`` parameter used on the unit sphere
  (rows L2-normalised in every forward pass), the online clustering of SwAV
  (Caron et al., NeurIPS 2020) that S4Rec (Wei et al., WWW 2024, §4.1) adopts;
* :class:`KMeansIntents` — a ``(K, D)`` *buffer* refitted by k-means
  (:func:`graphrec.nn.kmeans.kmeans`) over every training sequence at the start of
  each epoch (ICLRec, Chen et al., WWW 2022, §4.2), e.g. from a model's
  ``on_epoch_start`` hook. Being a buffer it is in the ``state_dict``, so a resumed
  run continues with exactly the intents of an uninterrupted one.

Both assign a row to its nearest intent, :math:`h(u)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.nn.kmeans import kmeans


class Prototypes(nn.Module):
    """``K`` learnable prototypes on the unit sphere (SwAV; S4Rec Eq. 3).

    .. math::
        \\mu_k = \\frac{w_k}{\\lVert w_k \\rVert_2}, \\qquad h(u) = \\arg\\max_k z_u \\mu_k^\\top

    SwAV renormalises the weight in place after each step; normalising in the forward
    pass gives the same vectors and keeps the module stateless beyond ``weight``.

    Args:
        num_prototypes: ``K``.
        hidden_size: ``D``.

    Shapes:
        ``forward()`` -> ``(K, D)`` unit rows; ``assign(z)``: ``(B, D)`` -> ``(B,)``.
    """

    def __init__(self, num_prototypes: int, hidden_size: int) -> None:
        super().__init__()
        if num_prototypes < 2:
            raise ValueError(f"num_prototypes must be >= 2, got {num_prototypes}")
        self.weight = nn.Parameter(torch.empty(num_prototypes, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight)

    @property
    def num_prototypes(self) -> int:
        return int(self.weight.shape[0])

    def forward(self) -> Tensor:
        return F.normalize(self.weight, dim=-1)  # (K, D)

    def assign(self, z: Tensor) -> Tensor:
        """``(B,)`` index of the most similar prototype of each row (cosine)."""
        return (F.normalize(z, dim=-1) @ self().T).argmax(dim=1)  # (B,)

    def extra_repr(self) -> str:
        return f"num_prototypes={self.weight.shape[0]}, hidden_size={self.weight.shape[1]}"


class KMeansIntents(nn.Module):
    """``K`` intents refitted by k-means over every training sequence (ICLRec §4.2).

    .. math::
        \\{c_k\\} = \\operatorname{kmeans}(\\{z_u\\}_{u}), \\qquad
        h(u) = \\arg\\min_k \\lVert z_u - c_k \\rVert_2

    ``normalize=True`` fits and assigns on the unit sphere (rows of ``z`` normalised,
    centroids renormalised after fitting, nearest = most cosine-similar), the space
    of S4Rec's prototypes. ``normalize_vectors=True`` keeps the Euclidean fit and
    assignment but hands out unit-length intent vectors (:meth:`vectors`), as the released
    ICLRec code normalises its faiss centroids before contrasting with them.

    Args:
        num_intents: ``K``.
        hidden_size: ``D`` of the representations clustered.
        num_iters: Lloyd iterations per refit (default 20).
        normalize: cluster on the unit sphere (default False: Euclidean, as ICLRec's faiss).
        normalize_vectors: :meth:`vectors` returns the centroids scaled to unit length.

    Attributes:
        centroids: ``(K, D)`` buffer (zeros until the first :meth:`refit`).
        fitted: ``()`` bool buffer, True once :meth:`refit` has run.

    Shapes:
        ``forward()`` -> ``(K, D)``; ``assign(z)``: ``(B, D)`` -> ``(B,)``.
    """

    centroids: Tensor
    fitted: Tensor

    def __init__(self, num_intents: int, hidden_size: int, num_iters: int = 20,
                 normalize: bool = False, normalize_vectors: bool = False) -> None:
        super().__init__()
        self.normalize_vectors = bool(normalize_vectors)
        if num_intents < 2:
            raise ValueError(f"num_intents must be >= 2, got {num_intents}")
        self.num_iters = int(num_iters)
        self.normalize = bool(normalize)
        self.register_buffer("centroids", torch.zeros(num_intents, hidden_size))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def reset_parameters(self) -> None:
        self.centroids.zero_()
        self.fitted.fill_(False)

    @property
    def num_intents(self) -> int:
        return int(self.centroids.shape[0])

    def forward(self) -> Tensor:
        return self.centroids  # (K, D)

    def vectors(self) -> Tensor:
        """``(K, D)`` the intent vectors a loss uses (unit length with ``normalize_vectors``)."""
        return F.normalize(self.centroids, dim=-1) if self.normalize_vectors else self.centroids

    @torch.no_grad()
    def refit(self, reps: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Run k-means on ``(M, D)`` representations (``M >= K``) and store the centroids.

        Returns:
            ``(M,)`` the cluster of every representation.
        """
        if reps.shape[0] < self.num_intents:
            raise ValueError(f"k-means of {self.num_intents} intents needs at least as many training "
                             f"sequences, got {reps.shape[0]}; lower the number of intents")
        x = F.normalize(reps, dim=-1) if self.normalize else reps  # (M, D)
        centroids, assignment = kmeans(x.float(), self.num_intents, self.num_iters, generator)  # (K, D), (M,)
        if self.normalize:
            centroids = F.normalize(centroids, dim=-1)
        self.centroids.copy_(centroids)
        self.fitted.fill_(True)
        return assignment

    @torch.no_grad()
    def refit_from(self, batches: Iterable[SeqBatch], represent: Callable[[SeqBatch], Tensor],
                   generator: torch.Generator | None = None) -> Tensor:
        """Refit on ``represent(batch)`` of every batch (e.g. ``state.iter_train_sequences()``).

        Returns:
            ``(M,)`` the cluster of every row, in batch order.
        """
        return self.refit(torch.cat([represent(batch) for batch in batches]), generator)

    def assign(self, z: Tensor) -> Tensor:
        """``(B,)`` index of the nearest centroid of each row."""
        with torch.no_grad():
            if self.normalize:
                return (F.normalize(z, dim=-1) @ self.centroids.T).argmax(dim=1)  # (B,)
            dist = (z.pow(2).sum(1, keepdim=True) - 2 * z @ self.centroids.T
                    + self.centroids.pow(2).sum(1).unsqueeze(0))  # (B, K) squared distances
            return dist.argmin(dim=1)  # (B,)

    def extra_repr(self) -> str:
        return (f"num_intents={self.num_intents}, hidden_size={self.centroids.shape[1]}, "
                f"num_iters={self.num_iters}, normalize={self.normalize}")


__all__ = ["KMeansIntents", "Prototypes"]
