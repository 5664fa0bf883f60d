"""The batch every model consumes: left-padded item sequences and their targets."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TypeVar

import torch
from torch import Tensor

BatchT = TypeVar("BatchT", bound="SeqBatch")


@dataclass
class SeqBatch:
    """A batch of left-padded sequences (0 = padding, the last column is the newest item).

    Attributes:
        input_ids: ``(B, L)`` item ids.
        target_ids: ``(B, L)`` training targets, the next item after each position
            (0 where there is none); ``None`` at evaluation.
        targets: ``(B,)`` the held-out item at evaluation (leave-one-out); ``None`` in training.
        user_ids: ``(B,)`` user indices into the dataset.
        history_indptr / history_items: optional CSR of each row's *full* history
            (not truncated to ``L``), used to mask already-seen items at evaluation.
        segment_ids: optional ``(B, L)`` for packed rows (:mod:`graphrec.data.packing`):
            which sequence each position belongs to (0 = padding); attention must stay
            inside a segment. ``None`` means one sequence per row.
        position_ids: optional ``(B, L)`` position of each item in its own left-padded
            row; ``None`` means ``arange(L)``.
    """

    input_ids: Tensor
    user_ids: Tensor
    target_ids: Tensor | None = None
    targets: Tensor | None = None
    history_indptr: Tensor | None = None
    history_items: Tensor | None = None
    segment_ids: Tensor | None = None
    position_ids: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def padding_mask(self) -> Tensor:
        """``(B, L)`` bool, True at real (non-padding) positions."""
        return self.input_ids > 0

    def to(self: BatchT, device: torch.device | str) -> BatchT:
        moved = {
            f.name: (v.to(device, non_blocking=True) if isinstance(v, Tensor) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return replace(self, **moved)
