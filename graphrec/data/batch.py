"""The batch every model consumes: left-padded item sequences and their targets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

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
        extras: what a model's training batch step adds, each tensor row-aligned with
            the batch (first dimension ``B``): augmented views (``"view1"``, ``"view2"``),
            masked positions, per-row labels, ... (:meth:`SequentialRecommender.training_batch`).
    """

    input_ids: Tensor
    user_ids: Tensor
    target_ids: Tensor | None = None
    targets: Tensor | None = None
    history_indptr: Tensor | None = None
    history_items: Tensor | None = None
    segment_ids: Tensor | None = None
    position_ids: Tensor | None = None
    extras: dict[str, Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def padding_mask(self) -> Tensor:
        """``(B, L)`` bool, True at real (non-padding) positions."""
        return self.input_ids > 0

    def to(self: BatchT, device: torch.device | str) -> BatchT:
        moved: dict[str, Any] = {
            f.name: (v.to(device, non_blocking=True) if isinstance(v, Tensor) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        moved["extras"] = {k: v.to(device, non_blocking=True) for k, v in self.extras.items()}
        return replace(self, **moved)

    def select(self: BatchT, rows: Tensor) -> BatchT:
        """The batch restricted to ``rows`` (``(R,)`` int64 indices into the batch).

        Every row-aligned tensor (first dimension ``B``, ``extras`` included) is indexed;
        a batch holding CSR fields (``history_indptr``, ...) cannot be cut this way.
        """
        size = self.batch_size
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extras":
                out[f.name] = {k: _rows(v, rows, size, f"extras[{k!r}]") for k, v in value.items()}
            elif isinstance(value, Tensor):
                out[f.name] = _rows(value, rows, size, f.name)
        return replace(self, **out)


def _rows(value: Tensor, rows: Tensor, size: int, name: str) -> Tensor:
    if value.dim() == 0 or value.shape[0] != size:
        raise ValueError(f"batch field {name} with shape {tuple(value.shape)} is not row-aligned with "
                         f"the batch ({size} rows); only row-aligned batches can be cut by rows")
    return value[rows.to(value.device)]
