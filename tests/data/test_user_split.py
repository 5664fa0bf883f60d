"""User split: group sizes, determinism, history/target boundaries, training windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.user_split import UserEvalBatch, UserSplit, ragged_positions


def _fixed(sequences: list[list[int]], groups: list[int], num_items: int | None = None) -> SequenceDataset:
    return SequenceDataset.from_sequences(
        sequences, num_items=num_items, user_split=np.array(groups, dtype=np.int8)
    )


def _random_dataset(
    num_users: int, seed: int = 0, max_length: int = 40, num_items: int = 30
) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_length, size=num_users)
    seqs = [rng.integers(1, num_items + 1, size=n).tolist() for n in lengths]
    return SequenceDataset.from_sequences(seqs, num_items=num_items)


def test_ragged_positions() -> None:
    rows, pos = ragged_positions(np.array([3, 10, 7]), np.array([5, 10, 8]))
    assert rows.tolist() == [0, 0, 2]
    assert pos.tolist() == [3, 4, 7]


def test_seeded_split_sizes_8_1_1_and_determinism() -> None:
    data = _random_dataset(10)
    split = UserSplit.build(data, max_len=5, seed=7)
    assert split.split_source == "seeded"
    assert np.bincount(split.groups, minlength=3).tolist() == [8, 1, 1]
    again = UserSplit.build(data, max_len=5, seed=7)
    assert np.array_equal(split.groups, again.groups)
    assert np.array_equal(split.train_inputs, again.train_inputs)
    # ComiRec's cut points floor(0.8 U), floor(0.9 U): 25 users -> 20 / 2 / 3
    split25 = UserSplit.build(_random_dataset(25), seed=1)
    assert np.bincount(split25.groups, minlength=3).tolist() == [20, 2, 3]
    # another seed permutes users differently (fixed seeds, so this is deterministic)
    other = [UserSplit.build(_random_dataset(25), seed=s).groups for s in (1, 2)]
    assert not np.array_equal(other[0], other[1])


def test_dataset_split_is_used_and_recorded() -> None:
    data = _fixed([[1, 2], [2, 3], [3, 1], [1, 3]], [2, 0, 1, 0])
    split = UserSplit.build(data, max_len=4, seed=123)
    assert split.split_source == "dataset"
    assert split.groups.tolist() == [2, 0, 1, 0]
    info = split.describe()
    assert info["split_source"] == "dataset" and info["seed"] is None
    assert info["users"] == {"train": 2, "valid": 1, "test": 1}
    assert info["checksum"] == data.checksum()


def test_history_target_boundaries() -> None:
    seqs = [
        list(range(1, 11)),  # n=10 -> history 8, targets 2
        [1, 2],  # n=2 -> 1 / 1
        [4],  # n=1 -> skipped
        [1, 2, 3],  # n=3 -> floor(2.4) = 2 / 1
        [1, 2, 3, 4, 5],  # n=5 -> 4 / 1
        [5, 6],  # train
    ]
    split = UserSplit.build(_fixed(seqs, [2, 2, 2, 2, 1, 0]), max_len=3)
    test = split.test
    assert test.users.tolist() == [0, 1, 3]
    assert test.num_skipped == 1 and split.describe()["skipped_users"]["test"] == 1
    assert (test.history_end - test.history_start).tolist() == [8, 1, 2]
    assert np.diff(test.target_indptr).tolist() == [2, 1, 1]
    assert test.target_items.tolist() == [9, 10, 2, 3]
    # input = last max_len history items, left-padded
    assert test.inputs.tolist() == [[6, 7, 8], [0, 0, 1], [0, 1, 2]]
    assert split.valid.users.tolist() == [4]
    assert split.valid.inputs.tolist() == [[2, 3, 4]] and split.valid.target_items.tolist() == [5]


def test_repeated_targets_are_kept_once_in_order() -> None:
    seq = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 9, 2, 9, 2, 8]  # n=17 -> history 13, targets [2, 9, 2, 8]
    split = UserSplit.build(_fixed([seq, [1, 2]], [2, 0]), max_len=4)
    assert split.test.target_items.tolist() == [2, 9, 8]
    assert split.test.target_indptr.tolist() == [0, 3]
    assert split.test.inputs.tolist() == [[10, 11, 12, 9]]


def test_training_windows_cover_every_transition_once() -> None:
    # n = 8, L = 3: 7 transitions -> ceil(7 / 3) = 3 windows, newest first, overlapping by one item
    split = UserSplit.build(_fixed([list(range(1, 9)), [1, 2]], [0, 2]), max_len=3)
    assert split.num_train_rows == 3
    assert split.train_inputs.tolist() == [[5, 6, 7], [2, 3, 4], [0, 0, 1]]
    assert split.train_targets.tolist() == [[6, 7, 8], [3, 4, 5], [0, 0, 2]]
    assert split.train_users.tolist() == [0, 0, 0]
    newest = UserSplit.build(_fixed([list(range(1, 9)), [1, 2]], [0, 2]), max_len=3, max_windows=1)
    assert newest.train_inputs.tolist() == [[5, 6, 7]]


def test_training_rows_match_transitions_on_random_data() -> None:
    data = _random_dataset(60, seed=3)
    split = UserSplit.build(data, max_len=7, seed=5)
    train_users = np.nonzero(split.groups == 0)[0]
    lengths = data.lengths[train_users]
    assert int((split.train_targets > 0).sum()) == int(np.clip(lengths - 1, 0, None).sum())
    assert split.num_skipped_train == int((lengths < 2).sum())
    # every (input, target) pair is a real consecutive pair of that row's user
    r, t = np.nonzero(split.train_targets > 0)
    assert np.all(split.train_inputs[r, t] > 0)
    pairs = {
        (int(u), int(a), int(b))
        for u in train_users
        for a, b in zip(data.sequence(u)[:-1], data.sequence(u)[1:], strict=True)
    }
    got = {(int(split.train_users[i]), int(split.train_inputs[i, j]), int(split.train_targets[i, j]))
           for i, j in zip(r, t, strict=True)}
    assert got == pairs
    counts = split.train_item_counts()
    assert counts.sum() == lengths.sum() and counts[0] == 0


def test_batches() -> None:
    seqs = [list(range(1, 11)), [1, 2, 3], [3, 4, 5, 6], [2, 3]]
    split = UserSplit.build(_fixed(seqs, [2, 2, 0, 1], num_items=12), max_len=4)
    train = split.train_batch(np.arange(split.num_train_rows))
    assert isinstance(train, SeqBatch)
    assert train.input_ids.tolist() == [[0, 3, 4, 5]] and train.target_ids.tolist() == [[0, 4, 5, 6]]
    assert split.num_eval_rows("test") == 2 and split.num_eval_rows("valid") == 1
    batch = split.eval_batch("test", np.array([1, 0]), with_history=True)
    assert isinstance(batch, UserEvalBatch)
    assert batch.user_ids.tolist() == [1, 0]
    assert batch.input_ids.tolist() == [[0, 0, 1, 2], [5, 6, 7, 8]]
    assert batch.target_indptr.tolist() == [0, 1, 3]
    assert batch.target_items.tolist() == [3, 9, 10]
    assert batch.history_indptr.tolist() == [0, 2, 10]
    assert batch.history_items.tolist() == [1, 2, 1, 2, 3, 4, 5, 6, 7, 8]
    assert batch.to("cpu").target_items.tolist() == [3, 9, 10]
    with pytest.raises(ValueError, match="which must be"):
        split.eval_batch("train", np.array([0]))


def test_bad_arguments() -> None:
    data = _random_dataset(10)
    with pytest.raises(ValueError, match="ratios"):
        UserSplit.build(data, ratios=(0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="history_fraction"):
        UserSplit.build(data, history_fraction=1.0)
    with pytest.raises(ValueError, match="max_len"):
        UserSplit.build(data, max_len=0)
    bad = _fixed([[1, 2], [2, 3]], [0, 3])
    with pytest.raises(ValueError, match="user 1 has 3"):
        UserSplit.build(bad)


def _shared_data() -> Path:
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_ml100k_split() -> None:
    folder = _shared_data() / "ml-100k"
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder}")
    from graphrec.data.readers.recbole import read_recbole

    data = read_recbole(folder)
    split = UserSplit.build(data, max_len=50, seed=2024)
    info = split.describe()
    assert info["users"] == {"train": 754, "valid": 94, "test": 95}  # floor(0.8 * 943), floor(0.9 * 943)
    train_users = np.nonzero(split.groups == 0)[0]
    assert int((split.train_targets > 0).sum()) == int((data.lengths[train_users] - 1).sum())
    for part in (split.valid, split.test):
        n = data.lengths[part.users]
        assert np.array_equal(part.history_end - part.history_start, np.floor(n * 0.8).astype(np.int64))
        assert np.all(np.diff(part.target_indptr) >= 1)
