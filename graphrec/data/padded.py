"""Pre-padded rows shared by the splits: left-padded windows and the training batch.

Both splits (:class:`~graphrec.data.loo.LeaveOneOutSplit` and
:class:`~graphrec.data.user_split.UserSplit`) cut every training row and every
model input out of the flat item array once, as left-padded ``(R, L)`` numpy
arrays, so that a batch is a row slice. :func:`left_padded_windows` builds those
rows; :class:`PaddedTrainRows` turns row indices into the training
:class:`~graphrec.data.batch.SeqBatch`, the same for either split, so one
trainer trains on either protocol.
"""

from __future__ import annotations

import numpy as np
import torch

from graphrec.data.batch import SeqBatch


def left_padded_windows(items: np.ndarray, ends: np.ndarray, starts: np.ndarray, max_len: int) -> np.ndarray:
    """Rows ``items[max(start, end - max_len):end]``, left-padded with 0 to ``max_len``.

    Args:
        items: ``(nnz,)`` flat item array.
        ends: ``(R,)`` exclusive end offsets.
        starts: ``(R,)`` offsets where each row's sequence begins.
        max_len: window length ``L``.

    Returns:
        ``(R, L)`` int64 array.
    """
    idx = ends[:, None] - max_len + np.arange(max_len)[None, :]  # (R, L)
    valid = idx >= starts[:, None]
    out = np.where(valid, items[np.clip(idx, 0, max(len(items) - 1, 0))] if len(items) else 0, 0)
    return out.astype(np.int64)


class PaddedTrainRows:
    """Mixin for a split that holds its training rows as pre-padded arrays.

    The class using it provides three row-aligned arrays:

    Attributes:
        train_users: ``(R,)`` the user of every training row.
        train_inputs / train_targets: ``(R, L)``; ``train_targets[r, t]`` is the
            item after ``train_inputs[r, t]`` (0 at padding).
    """

    train_users: np.ndarray
    train_inputs: np.ndarray
    train_targets: np.ndarray

    @property
    def num_train_rows(self) -> int:
        return len(self.train_users)

    def train_batch(self, rows: np.ndarray) -> SeqBatch:
        """Training batch for the given row indices into ``train_inputs``."""
        return SeqBatch(
            input_ids=torch.from_numpy(self.train_inputs[rows]),
            target_ids=torch.from_numpy(self.train_targets[rows]),
            user_ids=torch.from_numpy(self.train_users[rows]),
        )


__all__ = ["PaddedTrainRows", "left_padded_windows"]
