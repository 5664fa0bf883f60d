"""ComiRec's sampler: users uniform without replacement in a batch, cuts k >= 4 over the whole sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphrec.data.user_sampler import UserCutSampler

LENGTHS = [1, 3, 5, 12, 40]  # user 0 cannot be cut; user 1 is shorter than ComiRec's minimum


def _sampler(max_len: int = 6) -> UserCutSampler:
    # user u's items are 100 u + 1 .. 100 u + n: an item id tells its user and position
    items = np.concatenate([100 * u + np.arange(1, n + 1) for u, n in enumerate(LENGTHS)])
    indptr = np.concatenate([[0], np.cumsum(LENGTHS)])
    return UserCutSampler(indptr, items, max_len=max_len)


def test_each_sample_is_the_history_before_one_cut() -> None:
    sampler = _sampler(max_len=6)
    users, inputs, targets = sampler.sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(users, (targets - 1) // 100)
    assert inputs.shape == (4, 6) and targets.shape == (4,)
    for row, target in zip(inputs.tolist(), targets.tolist()):
        user, cut = divmod(target - 1, 100)
        expected = [100 * user + 1 + i for i in range(max(0, cut - 6), cut)]
        assert row == [0] * (6 - len(expected)) + expected  # left-padded, the <= L items before the cut


def test_users_are_uniform_and_distinct_within_a_batch() -> None:
    sampler = _sampler()
    generator = torch.Generator().manual_seed(1)
    counts = np.zeros(len(LENGTHS), dtype=np.int64)
    draws = 4000
    for _ in range(draws):
        _, _, targets = sampler.sample(2, generator)
        users = (targets - 1) // 100
        assert users[0] != users[1]  # without replacement inside a batch
        np.add.at(counts, users.numpy(), 1)
    assert counts[0] == 0  # one item: never drawn
    expected = 2 * draws / 4  # four eligible users, two per batch
    sigma = np.sqrt(expected * (1 - 0.5))
    assert np.all(np.abs(counts[1:] - expected) < 5 * sigma), counts


def test_cuts_are_uniform_over_four_to_the_end_of_the_whole_sequence() -> None:
    sampler = _sampler(max_len=6)
    generator = torch.Generator().manual_seed(2)
    cuts: dict[int, list[int]] = {u: [] for u in range(len(LENGTHS))}
    for _ in range(3000):
        _, _, targets = sampler.sample(4, generator)
        for target in targets.tolist():
            user, cut = divmod(target - 1, 100)
            cuts[user].append(cut)
    assert set(cuts[1]) == {1, 2}  # n = 3 <= k_min: any cut that leaves an input
    assert set(cuts[2]) == {4}
    for user in (3, 4):  # n = 12, 40: every k in {4, ..., n - 1}, far beyond the window length 6
        n = LENGTHS[user]
        values, counts = np.unique(cuts[user], return_counts=True)
        assert values.tolist() == list(range(4, n))
        expected = len(cuts[user]) / (n - 4)
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected)), counts


def test_same_generator_state_same_batch() -> None:
    a = _sampler().sample(3, torch.Generator().manual_seed(7))
    b = _sampler().sample(3, torch.Generator().manual_seed(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_no_user_to_cut_is_an_error() -> None:
    with pytest.raises(ValueError, match="no training user has 2 or more items"):
        UserCutSampler(np.array([0, 1, 2]), np.array([1, 2]), max_len=4)
