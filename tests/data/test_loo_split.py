"""LeaveOneOutSplit on a hand-worked example."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import (
    MIN_EVAL_LENGTH,
    LeaveOneOutSplit,
    left_padded_windows,
    loo_evaluated,
    loo_train_ends,
)


@pytest.fixture()
def split() -> LeaveOneOutSplit:
    # u0 long enough to truncate, u1 has 2 items (not evaluated), u2 has exactly 3
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4, 5], [6, 7], [2, 4, 6]], num_items=7)
    return LeaveOneOutSplit.build(ds, max_len=3)


def test_train_rows(split: LeaveOneOutSplit) -> None:
    # training sequences: u0 s[:-2] = [1, 2, 3]; u1 whole [6, 7]; u2 s[:-2] = [2] has no pair
    np.testing.assert_array_equal(split.train_users, [0, 1])
    np.testing.assert_array_equal(split.train_inputs, [[0, 1, 2], [0, 0, 6]])
    np.testing.assert_array_equal(split.train_targets, [[0, 2, 3], [0, 0, 7]])
    assert split.num_train_rows == 2


def test_eval_rows_padding_and_truncation(split: LeaveOneOutSplit) -> None:
    np.testing.assert_array_equal(split.eval_users, [0, 2])
    np.testing.assert_array_equal(split.valid_inputs, [[1, 2, 3], [0, 0, 2]])
    np.testing.assert_array_equal(split.valid_targets, [4, 4])
    np.testing.assert_array_equal(split.test_inputs, [[2, 3, 4], [0, 2, 4]])  # u0 truncated to last 3
    np.testing.assert_array_equal(split.test_targets, [5, 6])
    assert split.num_eval_rows == 2 and split.num_items == 7


def test_history_csr(split: LeaveOneOutSplit) -> None:
    valid = split.eval_batch("valid", np.array([0, 1]), with_history=True)
    assert valid.history_indptr is not None and valid.history_items is not None
    assert valid.history_indptr.tolist() == [0, 3, 4]
    assert valid.history_items.tolist() == [1, 2, 3, 2]
    test = split.eval_batch("test", np.array([1, 0]), with_history=True)
    assert test.history_indptr is not None and test.history_items is not None
    assert test.history_indptr.tolist() == [0, 2, 6]  # full history, not truncated to max_len
    assert test.history_items.tolist() == [2, 4, 1, 2, 3, 4]
    assert test.targets is not None and test.targets.tolist() == [6, 5]
    assert test.user_ids.tolist() == [2, 0]
    assert split.eval_batch("test", np.array([0])).history_items is None
    with pytest.raises(ValueError, match="valid"):
        split.eval_batch("train", np.array([0]))


def test_train_batch_and_counts(split: LeaveOneOutSplit) -> None:
    batch = split.train_batch(np.array([1]))
    assert batch.input_ids.tolist() == [[0, 0, 6]]
    assert batch.target_ids is not None and batch.target_ids.tolist() == [[0, 0, 7]]
    assert batch.padding_mask.tolist() == [[False, False, True]]
    # training items: u0 [1, 2, 3], u1 [6, 7], u2 [2]; held-out items never counted
    np.testing.assert_array_equal(split.train_item_counts(), [0, 1, 2, 1, 0, 0, 1, 1])


def test_left_padded_windows_closed_form() -> None:
    items = np.array([5, 6, 7, 8, 9])
    out = left_padded_windows(items, ends=np.array([2, 5, 3]), starts=np.array([0, 2, 3]), max_len=4)
    np.testing.assert_array_equal(out, [[0, 0, 5, 6], [0, 7, 8, 9], [0, 0, 0, 0]])


def test_loo_train_ends_hold_out_rule() -> None:
    # lengths 5, 2, 3, 0, 1: users of >= 3 items lose their last two, the others keep all
    indptr = np.array([0, 5, 7, 10, 10, 11])
    np.testing.assert_array_equal(loo_train_ends(indptr), [3, 7, 8, 10, 11])
    np.testing.assert_array_equal(loo_evaluated(indptr), [True, False, True, False, False])
    assert MIN_EVAL_LENGTH == 3
    assert loo_train_ends(np.array([0])).shape == (0,)


def test_split_follows_the_hold_out_rule(split: LeaveOneOutSplit) -> None:
    ends = loo_train_ends(split.dataset.indptr)
    np.testing.assert_array_equal(np.nonzero(loo_evaluated(split.dataset.indptr))[0], split.eval_users)
    starts = split.dataset.indptr[:-1]
    trained = np.concatenate([split.dataset.items[s:e] for s, e in zip(starts, ends, strict=True)])
    np.testing.assert_array_equal(np.bincount(trained, minlength=8), split.train_item_counts())
