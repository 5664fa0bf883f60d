"""Every prefix of every training row as its own sample: one target on the newest position.

The S3Rec-family code (S3Rec, FMLP-Rec, BSARec) trains on every prefix
``s_1..s_t`` of every training sequence, each as a separate left-padded window
whose newest position predicts ``s_{t+1}``. :class:`PrefixRows` gives that view of
a split's pre-padded training rows (:class:`~graphrec.data.padded.PaddedTrainRows`)
without materialising the windows: sample ``j`` is a pair (row ``r_j``, target
column ``c_j``), and a batch is cut out of the row arrays on the fly:

.. math::
    X_j[t] = \\mathrm{inputs}[r_j,\\, c_j - (L - 1) + t]
    \\;\\; (0 \\text{ where the index is } < 0), \\qquad
    Y_j[L-1] = \\mathrm{targets}[r_j, c_j], \\;\\; Y_j[t < L-1] = 0

A training row of ``n`` targets gives ``n`` samples, so an epoch has as many
samples as the split has training targets.
"""

from __future__ import annotations

import numpy as np
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.padded import PaddedTrainRows


class PrefixRows:
    """The prefix samples of a split's training rows (``num_train_rows``, ``train_batch(rows)``).

    Args:
        split: a split with pre-padded ``train_inputs``/``train_targets``/``train_users``.

    Attributes:
        rows / columns: ``(S,)`` the training row and target column of every sample.
    """

    def __init__(self, split: PaddedTrainRows) -> None:
        self.split = split
        rows, columns = np.nonzero(split.train_targets > 0)  # row-major: samples of a row are adjacent
        self.rows = rows.astype(np.int64)
        self.columns = columns.astype(np.int64)

    @property
    def num_train_rows(self) -> int:
        return len(self.rows)

    def train_batch(self, samples: np.ndarray) -> SeqBatch:
        """The windows of the given sample indices: ``(B, L)`` inputs, targets in the last column."""
        inputs = self.split.train_inputs
        width = inputs.shape[1]
        rows, columns = self.rows[samples], self.columns[samples]  # (B,), (B,)
        index = columns[:, None] - (width - 1) + np.arange(width)[None, :]  # (B, L)
        windows = np.where(index >= 0, inputs[rows[:, None], np.clip(index, 0, None)], 0)  # (B, L)
        targets = np.zeros_like(windows)
        targets[:, -1] = self.split.train_targets[rows, columns]
        return SeqBatch(
            input_ids=torch.from_numpy(windows.astype(np.int64)),
            target_ids=torch.from_numpy(targets.astype(np.int64)),
            user_ids=torch.from_numpy(self.split.train_users[rows]),
        )


#: how the trainer turns a split's training rows into samples
TRAIN_SAMPLES = ("windows", "prefixes")


def training_samples(split: PaddedTrainRows, samples: str) -> PaddedTrainRows | PrefixRows:
    """The split itself (``"windows"``: one sample per training row) or its :class:`PrefixRows`."""
    if samples == "windows":
        return split
    if samples == "prefixes":
        return PrefixRows(split)
    raise ValueError(f"train.samples must be one of {list(TRAIN_SAMPLES)}, got {samples!r}")


__all__ = ["TRAIN_SAMPLES", "PrefixRows", "training_samples"]
