"""Leave-one-out split (S3Rec/ICLRec/S4Rec/DSSRec protocol) as pre-padded arrays.

For a user with sequence ``s`` of length ``n >= 3``:

* training uses ``s[:-2]``: every position ``t`` predicts ``s[t + 1]``;
* validation predicts ``s[-2]`` from ``s[:-2]``;
* test predicts ``s[-1]`` from ``s[:-1]``.

Users with fewer than 3 interactions are not evaluated; their whole sequence is
used for training (it contains no held-out item); :func:`loo_train_ends` is that
rule, for every piece of code that must see the training part only (item counts,
graphs). Inputs are the last ``max_len`` items, left-padded with 0. All arrays
are built with vectorised numpy indexing, once, so that batching is a row slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.csr import csr_slices
from graphrec.data.dataset import SequenceDataset
from graphrec.data.padded import PaddedTrainRows, left_padded_windows

#: users with at least this many items hold out a validation and a test item
MIN_EVAL_LENGTH = 3


def loo_evaluated(indptr: np.ndarray) -> np.ndarray:
    """``(U,)`` bool: which users are evaluated (at least :data:`MIN_EVAL_LENGTH` items).

    Args:
        indptr: ``(U + 1,)`` CSR offsets of the users' sequences.
    """
    return np.diff(indptr) >= MIN_EVAL_LENGTH


def loo_train_ends(indptr: np.ndarray) -> np.ndarray:
    """``(U,)`` exclusive end offsets of each user's training part under leave-one-out.

    The hold-out rule: a user with sequence ``s`` of length ``n >= 3`` trains on
    ``s[:-2]`` (``s[-2]`` is the validation target, ``s[-1]`` the test target); a
    shorter user is not evaluated and trains on all of ``s``. User ``u``'s
    training items are ``items[indptr[u]:ends[u]]``.

    Args:
        indptr: ``(U + 1,)`` CSR offsets of the users' sequences.

    Returns:
        ``(U,)`` offsets, ``indptr[u + 1] - 2`` or ``indptr[u + 1]``.
    """
    ends = indptr[1:]
    return np.where(loo_evaluated(indptr), ends - 2, ends)


@dataclass
class LeaveOneOutSplit(PaddedTrainRows):
    """Pre-padded leave-one-out arrays for one dataset.

    Attributes:
        train_inputs / train_targets: ``(U_train, L)``; ``train_targets[r, t]`` is the
            item after ``train_inputs[r, t]`` (0 at padding).
        train_users: ``(U_train,)`` user ids of the training rows.
        eval_users: ``(U_eval,)`` users that have a validation and a test item.
        valid_inputs / test_inputs: ``(U_eval, L)``; ``valid_targets`` / ``test_targets``: ``(U_eval,)``.
        num_items: ``N``; scores are over ``0..N`` with 0 excluded.
    """

    dataset: SequenceDataset
    max_len: int
    train_users: np.ndarray
    train_inputs: np.ndarray
    train_targets: np.ndarray
    eval_users: np.ndarray
    valid_inputs: np.ndarray
    valid_targets: np.ndarray
    test_inputs: np.ndarray
    test_targets: np.ndarray

    @property
    def num_items(self) -> int:
        return self.dataset.num_items

    @property
    def num_eval_rows(self) -> int:
        return len(self.eval_users)

    @classmethod
    def build(cls, dataset: SequenceDataset, max_len: int = 50) -> LeaveOneOutSplit:
        indptr, items = dataset.indptr, dataset.items
        starts = indptr[:-1]
        evaluated = loo_evaluated(indptr)
        train_end = loo_train_ends(indptr)  # s[:-2] for evaluated users, s for the rest
        has_pair = (train_end - starts) >= 2
        train_users = np.nonzero(has_pair)[0]
        t_start, t_end = starts[train_users], train_end[train_users]
        train_inputs = left_padded_windows(items, t_end - 1, t_start, max_len)
        train_targets = left_padded_windows(items, t_end, t_start + 1, max_len)
        eval_users = np.nonzero(evaluated)[0]
        e_start, e_end = starts[eval_users], indptr[1:][eval_users]
        return cls(
            dataset=dataset,
            max_len=max_len,
            train_users=train_users,
            train_inputs=train_inputs,
            train_targets=train_targets,
            eval_users=eval_users,
            valid_inputs=left_padded_windows(items, e_end - 2, e_start, max_len),
            valid_targets=items[e_end - 2].copy(),
            test_inputs=left_padded_windows(items, e_end - 1, e_start, max_len),
            test_targets=items[e_end - 1].copy(),
        )

    # ---------------------------------------------------------------- batches
    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> SeqBatch:
        """Evaluation batch (``which`` = "valid" or "test") for rows of ``eval_users``.

        With ``with_history`` the batch carries each user's full history
        (``s[:-2]`` for valid, ``s[:-1]`` for test) for masking seen items.
        """
        if which not in ("valid", "test"):
            raise ValueError(f"which must be 'valid' or 'test', got {which!r}")
        inputs = self.valid_inputs if which == "valid" else self.test_inputs
        targets = self.valid_targets if which == "valid" else self.test_targets
        batch = SeqBatch(
            input_ids=torch.from_numpy(inputs[rows]),
            targets=torch.from_numpy(targets[rows]),
            user_ids=torch.from_numpy(self.eval_users[rows]),
        )
        if with_history:
            users = self.eval_users[rows]
            start = self.dataset.indptr[users]
            end = self.dataset.indptr[users + 1] - (2 if which == "valid" else 1)
            hist_indptr, hist_items = csr_slices(self.dataset.items, start, end)
            batch.history_indptr = torch.from_numpy(hist_indptr)
            batch.history_items = torch.from_numpy(hist_items)
        return batch

    def train_item_counts(self) -> np.ndarray:
        """``(N + 1,)`` item frequencies over training targets and inputs (no held-out items)."""
        indptr = self.dataset.indptr
        keep = np.arange(len(self.dataset.items)) < np.repeat(loo_train_ends(indptr), np.diff(indptr))
        return np.bincount(self.dataset.items[keep], minlength=self.num_items + 1)


__all__ = ["MIN_EVAL_LENGTH", "LeaveOneOutSplit", "left_padded_windows", "loo_evaluated", "loo_train_ends"]
