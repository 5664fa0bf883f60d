"""POP: recommend the most popular training items to everyone.

The non-personalised baseline of every sequential-recommendation paper (e.g. Kang &
McAuley, ICDM 2018, Table III). Scores go through the shared
:meth:`~graphrec.models.base.SequentialRecommender.score_all`: the interest is a
constant ``(B, 1, 1)`` of ones and each item's one-dimensional "embedding" is its
log training count, so

.. math::
    s_{u,i} = \\log(1 + c_i)

ranks items by training popularity (the log only compresses the scale). Counts
must come from training data only, e.g.
:meth:`graphrec.data.loo.LeaveOneOutSplit.train_item_counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext


@dataclass(frozen=True)
class POPConfig(ModelConfig):
    """POP has no options: its only input, the training item counts, comes from the data."""


class POP(SequentialRecommender):
    """Popularity ranking from training item counts; nothing to train.

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`POPConfig`, none).
        item_counts: ``N + 1`` training counts indexed by item id (entry 0, padding,
            is ignored); ``None`` scores every item 0 until :meth:`set_counts` is called.

    Shapes:
        ``interests``: ``(B, 1, 1)``; ``item_embeddings``: ``(N + 1, 1)``.
    """

    log_counts: Tensor  # buffer (N + 1, 1)

    trainable = False
    Config: ClassVar[type[ModelConfig]] = POPConfig
    config: POPConfig

    def __init__(self, num_items: int, config: POPConfig | None = None, *,
                 item_counts: Sequence[int] | np.ndarray | Tensor | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.register_buffer("log_counts", torch.zeros(self.num_items + 1, 1))
        if item_counts is not None:
            self.set_counts(item_counts)

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """Counts from the split's training part (``ctx.item_counts``) unless given."""
        counts = options.pop("item_counts", None)
        return cls(ctx.num_items, item_counts=ctx.item_counts if counts is None else counts, **options)

    def terms(self) -> tuple[str, ...]:
        """None: nothing to train."""
        return ()

    @classmethod
    def from_counts(cls, counts: Sequence[int] | np.ndarray | Tensor) -> POP:
        """A POP model over ``len(counts) - 1`` items (``counts[0]`` is padding)."""
        return cls(num_items=len(counts) - 1, item_counts=counts)

    def set_counts(self, counts: Sequence[int] | np.ndarray | Tensor) -> None:
        """Replace the popularity table with ``N + 1`` non-negative training counts."""
        values = torch.as_tensor(np.asarray(counts), dtype=torch.float64).reshape(-1)  # (N + 1,)
        if values.numel() != self.num_items + 1:
            raise ValueError(
                f"item_counts has {values.numel()} entries; expected num_items + 1 = {self.num_items + 1} "
                "(entry 0 is padding)"
            )
        if bool((values < 0).any()) or not bool(torch.isfinite(values).all()):
            raise ValueError("item_counts must be finite and non-negative")
        log_counts = torch.log1p(values)
        log_counts[0] = 0.0
        self.log_counts.copy_(log_counts.unsqueeze(1))  # (N + 1, 1)

    def interests(self, batch: SeqBatch) -> Tensor:
        return self.log_counts.new_ones(batch.batch_size, 1, 1)  # (B, 1, 1)

    def item_embeddings(self) -> Tensor:
        return self.log_counts  # (N + 1, 1)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        return {}


__all__ = ["POP", "POPConfig"]
