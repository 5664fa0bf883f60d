"""Every prefix of every training row as its own window (train.samples=prefixes)."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.prefix_rows import PrefixRows, training_samples


def test_prefixes_of_a_tiny_split_are_the_hand_enumerated_windows() -> None:
    # user 0: 1 2 3 4 5 6 (train 1..4), user 1: 7 8 9 (train 7)
    dataset = SequenceDataset(indptr=np.array([0, 6, 9]), items=np.array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
                              num_items=9)
    split = LeaveOneOutSplit.build(dataset, max_len=3)
    prefixes = PrefixRows(split)
    batch = prefixes.train_batch(np.arange(prefixes.num_train_rows))
    inputs = batch.input_ids.tolist()
    targets = batch.target_ids.tolist() if batch.target_ids is not None else None
    # targets of user 0's training row: 2, 3, 4; user 1 has a single training item (no target)
    assert prefixes.num_train_rows == int((split.train_targets > 0).sum()) == 3
    assert inputs == [[0, 0, 1], [0, 1, 2], [1, 2, 3]]
    assert targets == [[0, 0, 2], [0, 0, 3], [0, 0, 4]]
    assert batch.user_ids.tolist() == [0, 0, 0]


def test_windows_are_the_split_itself_and_unknown_samples_are_refused() -> None:
    dataset = SequenceDataset(indptr=np.array([0, 4]), items=np.array([1, 2, 3, 4]), num_items=4)
    split = LeaveOneOutSplit.build(dataset, max_len=3)
    assert training_samples(split, "windows") is split
    assert isinstance(training_samples(split, "prefixes"), PrefixRows)
    with pytest.raises(ValueError, match="train.samples"):
        training_samples(split, "rows")


def test_windows_longer_than_a_row_window_keep_the_newest_items() -> None:
    # a training row of 5 inputs in windows of 3: the last prefix is the 3 newest items
    items = np.arange(1, 9)  # 8 items: train inputs 1..5, targets 2..6
    split = LeaveOneOutSplit.build(SequenceDataset(indptr=np.array([0, 8]), items=items, num_items=8),
                                   max_len=3)
    prefixes = PrefixRows(split)
    batch = prefixes.train_batch(np.array([prefixes.num_train_rows - 1]))
    assert batch.input_ids.tolist() == [split.train_inputs[0].tolist()]
    assert batch.target_ids is not None and batch.target_ids[0, -1] == split.train_targets[0, -1]
