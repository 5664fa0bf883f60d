"""ComiRec: controllable multi-interest recommendation (the SA and DR extractors).

Cen et al., "Controllable Multi-Interest Framework for Recommendation", KDD 2020,
read together with its released code (THUDM/ComiRec, ``src/model.py``, ``src/train.py``).

**Extractors.** A user's history :math:`E_u` (the item vectors of the last ``L`` items)
becomes ``K`` interests :math:`V_u \\in \\mathbb{R}^{K \\times D}`:

* ComiRec-SA (§3.2.2, :class:`~graphrec.nn.multi_interest.SelfAttentiveExtractor`):
  :math:`A = \\mathrm{softmax}(W_2^\\top \\tanh(W_1^\\top (E_u + P)))^\\top`,
  :math:`V_u = A^\\top E_u`, with learned position vectors :math:`P` in the scores only;
* ComiRec-DR (§3.2.1, :class:`~graphrec.nn.capsule.CapsuleRouting`): dynamic routing
  with one bilinear map per (position, interest), routing logits starting at 0, three
  iterations, squash.

**Training** (one target per row, as ``DataIterator`` with ``train_flag=0``): for every
training row the batch step (:meth:`MultiInterestRecommender.training_batch`) draws
one split point uniformly over the row's positions with the seeded generator
(:func:`graphrec.data.augment.random_prefixes`); the prefix is the input and the
next item the single target (``batch.extras["target"]``). The ComiRec code draws
users at random and a split point ``k >= 4``; here every training row is used once per
epoch and any position may be the cut. The interest with the largest inner product
with the target scores it in a sampled softmax over shared negatives from the
log-uniform sampler with log-Q correction
(:class:`~graphrec.nn.multi_interest.InterestSampledSoftmax`; the code's
``tf.nn.sampled_softmax_loss`` with ``10 x batch`` negatives), over the item table
that also embeds the inputs:

.. math::
    \\mathcal{L} = -\\log \\frac{\\exp(v_u^\\top e_y - \\log Q(y))}
    {\\exp(v_u^\\top e_y - \\log Q(y)) + \\sum_{j \\in X'} \\exp(v_u^\\top e_j - \\log Q(j))},
    \\qquad v_u = V_u[\\arg\\max_k V_{u,k}^\\top e_y]

**Serving** is the shared code: each interest retrieves its top-N, the lists are
merged by score (:mod:`graphrec.eval.retrieval`). The controllable diversity
re-ranking (the code's ``coef``) is not part of the model.

**Sparse item table** (``sparse_items=True``, off by default): every read of the item
table in training (the inputs' lookup in :meth:`MultiInterestRecommender.embed` and the
target and negative rows of the sampled softmax) is a sparse lookup, so the table's
gradient is a sparse tensor over the rows of the batch and its negatives (loss and
gradient values are those of the dense table; evaluation reads the table as before),
and ``train.optimizer=lazy_adam`` (:class:`~graphrec.train.lazy_adam.LazyAdam`) updates
those rows and their Adam moments only: a step's cost no longer grows with the
catalogue. This is lazy Adam, not Adam: rows outside the batch keep their moments
instead of decaying them, so the trajectory differs from dense Adam's. (The ComiRec
code's TensorFlow Adam also receives the table's gradient as sparse ``IndexedSlices``
but still decays every row's moments and moves every row each step, i.e. dense Adam.)

Defaults are the code's: ``D = 64``, ``K = 4``, Adam lr 1e-3, batch 128, the window
length ``max_len`` set per dataset (the code: 20 for Amazon Books, 50 for Taobao).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy.typing as npt
import torch
from torch import Tensor, nn

from graphrec.data.augment import random_prefixes
from graphrec.data.batch import SeqBatch
from graphrec.models.base import SequentialRecommender
from graphrec.nn.capsule import CapsuleRouting
from graphrec.nn.embedding import trim_left_padding
from graphrec.nn.multi_interest import InterestSampledSoftmax, SelfAttentiveExtractor

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

#: where the batch step puts each row's single target
TARGET_KEY = "target"


def one_target_batch(batch: SeqBatch, generator: torch.Generator | None = None) -> SeqBatch:
    """One random prefix per training row and its next item (ComiRec's training scheme).

    Rows without a real (input, target) position are dropped first, so every output
    row keeps its ``user_ids``; the prefix is left-padded to the input's width.

    Args:
        batch: a training batch with ``input_ids`` and ``target_ids`` ``(B, L)``.
        generator: the batch step's seeded generator.

    Returns:
        A batch with ``input_ids`` ``(B', L)`` (the prefixes), ``user_ids`` ``(B',)`` and
        ``extras["target"]`` ``(B',)``; ``target_ids`` is ``None``.
    """
    if batch.target_ids is None:
        raise ValueError("the one-target batch step needs a training batch with target_ids")
    input_ids, target_ids, user_ids = batch.input_ids, batch.target_ids, batch.user_ids
    keep = ((input_ids > 0) & (target_ids > 0)).any(dim=1)  # (B,)
    if not bool(keep.all()):
        input_ids, target_ids, user_ids = input_ids[keep], target_ids[keep], user_ids[keep]
    prefix, target = random_prefixes(input_ids, target_ids, 1, generator)  # (B', L), (B',)
    return SeqBatch(input_ids=prefix, user_ids=user_ids, extras={TARGET_KEY: target})


class MultiInterestRecommender(SequentialRecommender):
    """Shared by MIND, ComiRec and HPCL4SR: item table, one-target batch step, argmax-interest loss.

    A subclass implements :meth:`encode` (``(B, W)`` ids -> ``(B, K, D)`` interests). It
    repeats the shared keyword parameters in its own signature instead of taking
    ``**kwargs``: the config validation and ``graphrec models`` read a class's signature,
    so every option a user can set, with its default, is listed there.

    Args:
        num_items: ``N``.
        hidden_size: ``D`` (default 64).
        num_interests: ``K`` (default 4).
        max_len: longest input window (default 50; ``from_context`` uses the split's).
        num_negatives: shared sampled negatives per batch (default 1280).
        sampler: ``"log_uniform"`` (default, over training-frequency ranks) or ``"uniform"``.
        item_counts: ``(N + 1,)`` training counts for the sampler (``from_context`` supplies them).
        init_std: std of the normal item-table initialisation (default 0.02).
        sparse_items: read the item table in training with sparse lookups only, so that its
            gradient is sparse (default False; see the module docstring). Needs
            ``train.optimizer=lazy_adam``. A subclass keeps this working as long as it reads
            the table through :meth:`embed` / :meth:`rec_loss` (or ``self.item``); any other
            dense read of ``self.item.weight`` makes the gradient dense again (correct, but
            without the saving).

    Shapes:
        ``interests``: ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "rows"}

    def __init__(
        self,
        num_items: int,
        hidden_size: int = 64,
        num_interests: int = 4,
        max_len: int = 50,
        num_negatives: int = 1280,
        sampler: str = "log_uniform",
        item_counts: npt.ArrayLike | None = None,
        init_std: float = 0.02,
        sparse_items: bool = False,
    ) -> None:
        super().__init__(num_items)
        if num_interests < 1:
            raise ValueError(f"num_interests must be >= 1, got {num_interests}")
        self.hidden_size = int(hidden_size)
        self.num_interests = int(num_interests)
        self.max_len = int(max_len)
        self.init_std = float(init_std)
        # sparse=True also tells DDP to expect a sparse gradient for the table
        self.item = nn.Embedding(num_items + 1, hidden_size, padding_idx=0, sparse=bool(sparse_items))
        self.objective = InterestSampledSoftmax(num_items, num_negatives, sampler, item_counts)
        self._reset_item_table()

    @property
    def sparse_items(self) -> bool:
        """Whether training reads the item table with sparse lookups only (its gradient is sparse)."""
        return bool(self.item.sparse)

    @sparse_items.setter
    def sparse_items(self, value: bool) -> None:
        self.item.sparse = bool(value)

    @property
    def sparse_gradients(self) -> bool:
        """Whether some parameter gets a sparse gradient (the trainer then needs ``lazy_adam``)."""
        return self.sparse_items

    def _reset_item_table(self) -> None:
        nn.init.normal_(self.item.weight, std=self.init_std)
        with torch.no_grad():
            self.item.weight[0].zero_()

    def reset_parameters(self) -> None:
        self._reset_item_table()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` from the split (never shorter) and the training item counts for the sampler."""
        ctx.window_options(options)
        options.setdefault("item_counts", ctx.item_counts)
        return cls.from_config(ctx.num_items, **options)

    # ------------------------------------------------------------------ encoding
    def embed(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, W)`` ids -> item vectors ``(B, W, D)`` (zero at padding) and the mask ``(B, W)``.

        A sparse lookup when ``sparse_items`` (``self.item`` is built with ``sparse``).
        """
        valid = input_ids > 0  # (B, W)
        return self.item(input_ids) * valid.unsqueeze(-1), valid

    @abstractmethod
    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` left-padded ids -> ``(B, K, D)`` interests (each extractor's own)."""

    def interests(self, batch: SeqBatch) -> Tensor:
        (input_ids,) = trim_left_padding(batch.input_ids)
        return self.encode(input_ids)  # (B, K, D)

    def item_embeddings(self) -> Tensor:
        return self.item.weight  # (N + 1, D)

    # ------------------------------------------------------------------ training
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """One random prefix and its next item per training row (:func:`one_target_batch`)."""
        return one_target_batch(batch, generator)

    @staticmethod
    def batch_targets(batch: SeqBatch) -> Tensor:
        """``(B,)`` the single target of every row of a batch made by :meth:`training_batch`."""
        if TARGET_KEY not in batch.extras:
            raise ValueError("loss_terms needs the one-target batch of training_batch "
                             "(batch.extras['target']); the trainer makes it")
        return batch.extras[TARGET_KEY]

    def rec_loss(self, interests: Tensor, targets: Tensor) -> Tensor:
        """The argmax-interest sampled softmax of ``(B, K, D)`` interests for ``(B,)`` targets.

        With ``sparse_items`` the target and negative rows are read by one sparse lookup
        (:func:`~graphrec.nn.multi_interest.candidate_rows`), which needs
        :meth:`item_embeddings` to be the table ``self.item.weight`` itself.
        """
        table = self.item_embeddings()  # (N + 1, D)
        if self.sparse_items and table is not self.item.weight:
            raise ValueError(f"{type(self).__name__}: sparse_items needs item_embeddings() to return "
                             "self.item.weight (a sparse gradient cannot flow through a derived table); "
                             "set sparse_items=False")
        return self.objective(interests, table, targets, sparse=self.sparse_items)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        targets = self.batch_targets(batch)
        (input_ids,) = trim_left_padding(batch.input_ids)
        return {"rec": self.rec_loss(self.encode(input_ids), targets)}

    def extra_repr(self) -> str:
        sparse = ", sparse_items=True" if self.sparse_items else ""
        return (f"num_items={self.num_items}, hidden_size={self.hidden_size}, "
                f"num_interests={self.num_interests}, max_len={self.max_len}{sparse}")


class ComiRecSA(MultiInterestRecommender):
    """ComiRec-SA: self-attentive multi-interest extraction (see the module docstring).

    Args:
        num_items, hidden_size, num_interests, max_len, num_negatives, sampler, item_counts,
        init_std: as :class:`MultiInterestRecommender`.
        add_positions: add learned position vectors to the attention input (default True,
            the code's ``add_pos``).
        sparse_items: as :class:`MultiInterestRecommender`.
    """

    def __init__(
        self,
        num_items: int,
        hidden_size: int = 64,
        num_interests: int = 4,
        max_len: int = 50,
        num_negatives: int = 1280,
        sampler: str = "log_uniform",
        item_counts: npt.ArrayLike | None = None,
        init_std: float = 0.02,
        add_positions: bool = True,
        sparse_items: bool = False,
    ) -> None:
        super().__init__(num_items, hidden_size, num_interests, max_len, num_negatives, sampler, item_counts,
                         init_std, sparse_items=sparse_items)
        self.add_positions = bool(add_positions)
        self.position = nn.Parameter(torch.empty(self.max_len, hidden_size)) if self.add_positions else None
        self.extractor = SelfAttentiveExtractor(hidden_size, num_interests)
        self._reset_positions()

    def _reset_positions(self) -> None:
        if self.position is not None:
            nn.init.xavier_uniform_(self.position)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_positions()
        self.extractor.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D) E_u, (B, W)
        width = input_ids.shape[1]
        if width > self.max_len:
            raise ValueError(f"input length {width} exceeds max_len={self.max_len}")
        keys = e if self.position is None else e + self.position[self.max_len - width:]  # (B, W, D)
        return self.extractor(keys, e, valid)  # (B, K, D) V_u

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, add_positions={self.add_positions}"


class ComiRecDR(MultiInterestRecommender):
    """ComiRec-DR: dynamic-routing multi-interest extraction (see the module docstring).

    Args:
        num_items, hidden_size, num_interests, max_len, num_negatives, sampler, item_counts,
        init_std: as :class:`MultiInterestRecommender`.
        routing_iterations: dynamic-routing iterations (default 3).
        sparse_items: as :class:`MultiInterestRecommender`.
    """

    def __init__(
        self,
        num_items: int,
        hidden_size: int = 64,
        num_interests: int = 4,
        max_len: int = 50,
        num_negatives: int = 1280,
        sampler: str = "log_uniform",
        item_counts: npt.ArrayLike | None = None,
        init_std: float = 0.02,
        routing_iterations: int = 3,
        sparse_items: bool = False,
    ) -> None:
        super().__init__(num_items, hidden_size, num_interests, max_len, num_negatives, sampler, item_counts,
                         init_std, sparse_items=sparse_items)
        self.capsules = CapsuleRouting(hidden_size, num_interests, self.max_len, "per_position",
                                       routing_iterations)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.capsules.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D)
        return self.capsules(e, valid)  # (B, K, D)


__all__ = ["TARGET_KEY", "ComiRecDR", "ComiRecSA", "MultiInterestRecommender", "one_target_batch"]
