"""Pre-padded rows: left-padded windows and the training batch shared by the splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.padded import PaddedTrainRows, left_padded_windows
from graphrec.data.user_split import UserSplit


@dataclass
class TwoRows(PaddedTrainRows):
    train_users: np.ndarray
    train_inputs: np.ndarray
    train_targets: np.ndarray


def test_train_batch_is_a_row_slice() -> None:
    rows = TwoRows(
        train_users=np.array([4, 9]),
        train_inputs=np.array([[0, 1, 2], [3, 4, 5]]),
        train_targets=np.array([[0, 2, 6], [4, 5, 7]]),
    )
    assert rows.num_train_rows == 2
    batch = rows.train_batch(np.array([1, 0]))
    assert batch.input_ids.tolist() == [[3, 4, 5], [0, 1, 2]]
    assert batch.target_ids is not None and batch.target_ids.tolist() == [[4, 5, 7], [0, 2, 6]]
    assert batch.user_ids.tolist() == [9, 4] and batch.targets is None


def test_left_padded_windows() -> None:
    items = np.array([1, 2, 3, 4, 5])
    out = left_padded_windows(items, ends=np.array([3, 5]), starts=np.array([0, 3]), max_len=2)
    np.testing.assert_array_equal(out, [[2, 3], [4, 5]])
    out = left_padded_windows(items, ends=np.array([1]), starts=np.array([0]), max_len=3)
    np.testing.assert_array_equal(out, [[0, 0, 1]])


def test_both_splits_share_the_training_batch() -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4, 5], [6, 7], [2, 4, 6]], num_items=7)
    for split in (LeaveOneOutSplit.build(ds, max_len=3), UserSplit.build(ds, max_len=3, seed=0)):
        assert isinstance(split, PaddedTrainRows)
        rows = np.arange(split.num_train_rows)
        batch = split.train_batch(rows)
        np.testing.assert_array_equal(batch.input_ids.numpy(), split.train_inputs)
        np.testing.assert_array_equal(batch.user_ids.numpy(), split.train_users)
