"""The multi-interest base: item table, one target per row, argmax-interest sampled softmax.

Shared by ComiRec-SA / ComiRec-DR (:mod:`graphrec.models.comirec`), MIND
(:mod:`graphrec.models.mind`), HPCL4SR (:mod:`graphrec.models.hpcl4sr`) and DSIE
(:mod:`graphrec.models.dsie`), read from the released ComiRec code (THUDM/ComiRec,
``src/model.py``, ``src/train.py``). A model adds its extractor (``(B, W)`` ids ->
``K`` interests :math:`V_u \\in \\mathbb{R}^{K \\times D}`) and its options
(a :class:`~graphrec.models.config.MultiInterestConfig` subclass).

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
from graphrec.data.user_sampler import UserCutSampler, draw_like
from graphrec.losses import next_item_loss
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig, MultiInterestConfig
from graphrec.nn.embedding import trim_left_padding
from graphrec.nn.multi_interest import InterestSampledSoftmax, best_interest

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
    """Shared by MIND, ComiRec, HPCL4SR and DSIE: item table, one-target batch step, argmax-interest loss.

    A subclass implements :meth:`encode` (``(B, W)`` ids -> ``(B, K, D)`` interests) and
    declares its options as a subclass of :class:`~graphrec.models.config.MultiInterestConfig`
    (its :attr:`Config`); its constructor takes ``(num_items, config=None, *, item_counts=None,
    <data>, **options)``, makes its config first (:meth:`make_config`) and passes it on.

    Args:
        num_items: ``N``.
        config: the options (default: the defaults of :attr:`Config`); ``options`` replace
            fields, so ``Model(n, hidden_size=8)`` works. ``sparse_items`` reads the item table
            in training with sparse lookups only, so that its gradient is sparse (see the module
            docstring; needs ``train.optimizer=lazy_adam``). A subclass keeps this working as
            long as it reads the table through :meth:`embed` / :meth:`rec_loss` (or
            ``self.item``); any other dense read of ``self.item.weight`` makes the gradient
            dense again (correct, but without the saving).
        item_counts: ``(N + 1,)`` training counts for the sampler (``from_context`` supplies them).

    Shapes:
        ``interests``: ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "rows"}
    Config: ClassVar[type[ModelConfig]] = MultiInterestConfig
    config: MultiInterestConfig
    #: whether :meth:`encode_prefixes` gives every prefix's interests (needed by ``recipe="dense"``)
    has_prefix_encoder: ClassVar[bool] = False
    #: ``recipe="comirec"``: draws the training samples (attached by :meth:`from_context`)
    user_sampler: UserCutSampler | None = None

    def __init__(self, num_items: int, config: MultiInterestConfig | None = None, *,
                 item_counts: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.hidden_size = config.hidden_size
        self.num_interests = config.num_interests
        self.max_len = config.max_len
        self.init_std = config.init_std
        # sparse=True also tells DDP to expect a sparse gradient for the table
        self.item = nn.Embedding(num_items + 1, config.hidden_size, padding_idx=0, sparse=config.sparse_items)
        self.objective = InterestSampledSoftmax(num_items, config.num_negatives, config.sampler, item_counts)
        if config.recipe == "dense" and not self.has_prefix_encoder:
            raise ValueError(f"model.recipe = 'dense' needs every prefix's interests in one pass, which "
                             f"{type(self).__name__} does not compute; use recipe 'prefix' or 'comirec'")
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
        """``max_len`` from the split (never shorter), the training item counts for the sampler
        and, under ``recipe="comirec"``, the training users' sequences to cut."""
        ctx.window_options(options)
        options.setdefault("item_counts", ctx.item_counts)
        model = cls.build_from_context(ctx, options)
        if model.config.recipe == "comirec":
            model.user_sampler = ctx.user_cut_sampler(model.max_len)
        return model

    @classmethod
    def build_from_context(cls, ctx: ModelContext, options: dict[str, Any]) -> MultiInterestRecommender:
        """The model from checked-in ``options``; a model that needs more of ``ctx`` overrides this."""
        return cls(ctx.num_items, **options)

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
        """What ``recipe`` trains on: one prefix and its next item per row (``"prefix"``,
        :func:`one_target_batch`), one cut of as many uniformly drawn users (``"comirec"``,
        :class:`~graphrec.data.user_sampler.UserCutSampler`) or the rows as they are (``"dense"``)."""
        if self.config.recipe == "dense":
            return batch
        if self.config.recipe == "comirec":
            users, inputs, targets = draw_like(self.user_sampler, batch.input_ids, generator)
            return SeqBatch(input_ids=inputs, user_ids=users, extras={TARGET_KEY: targets})
        return one_target_batch(batch, generator)

    def loss_unit(self, term: str, batch: SeqBatch) -> str:
        """``"rec"`` is a mean over rows (one target each), over target positions under ``"dense"``."""
        if term == "rec" and self.config.recipe == "dense":
            return "positions"
        return super().loss_unit(term, batch)

    def encode_prefixes(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` left-padded ids -> ``(B, W, K, D)``: row ``t`` is :meth:`encode` of the prefix
        ending at ``t`` (models with :attr:`has_prefix_encoder`)."""
        raise ValueError(f"{type(self).__name__} has no prefix encoder")

    def dense_loss(self, input_ids: Tensor, target_ids: Tensor) -> Tensor:
        """Every position's target against the whole catalogue through its best interest.

        .. math::
            \\mathcal{L} = -\\frac{1}{P} \\sum_{t} \\log
            \\frac{\\exp(v_t^\\top e_{y_t})}{\\sum_{j=1}^{N} \\exp(v_t^\\top e_j)}, \\qquad
            v_t = V_t[\\arg\\max_k V_{t,k}^\\top e_{y_t}]

        with :math:`V_t` the interests of the prefix ending at ``t`` (label-aware, as the
        one-target loss; no gradient through the argmax).
        """
        states = self.encode_prefixes(input_ids)  # (B, W, K, D)
        table = self.item_embeddings()  # (N + 1, D)
        return next_item_loss(best_interest(states, table, target_ids), target_ids, table)

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
        if self.config.recipe == "dense":
            if batch.target_ids is None:
                raise ValueError("recipe 'dense' trains on batches with target_ids")
            input_ids, target_ids = trim_left_padding(batch.input_ids, batch.target_ids)
            return {"rec": self.dense_loss(input_ids, target_ids)}
        targets = self.batch_targets(batch)
        (input_ids,) = trim_left_padding(batch.input_ids)
        return {"rec": self.rec_loss(self.encode(input_ids), targets)}

    def extra_repr(self) -> str:
        sparse = ", sparse_items=True" if self.sparse_items else ""
        return (f"num_items={self.num_items}, hidden_size={self.hidden_size}, "
                f"num_interests={self.num_interests}, max_len={self.max_len}{sparse}")


__all__ = ["TARGET_KEY", "MultiInterestRecommender", "one_target_batch"]
