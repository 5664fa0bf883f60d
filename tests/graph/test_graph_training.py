"""training_csr: graphs see only training interactions."""

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.graph.training import training_csr


def _dataset() -> SequenceDataset:
    # user 0: 5 items, user 1: 2 items (no hold-out), user 2: 3 items
    return SequenceDataset.from_sequences(
        [[1, 2, 3, 4, 5], [6, 7], [3, 2, 1]], num_items=7,
        item_category=[0, 1, 1, 2, 2, 3, 3, 1], user_split=np.array([0, 1, 0]),
    )


def test_loo_drops_the_last_two_items_of_evaluated_users() -> None:
    train = training_csr(_dataset())
    assert train.indptr.tolist() == [0, 3, 5, 6]
    assert train.items.tolist() == [1, 2, 3, 6, 7, 3]
    assert train.protocol == "loo"
    assert train.row_of.tolist() == [0, 0, 0, 1, 1, 2]


def test_loo_matches_the_split_training_rows() -> None:
    ds = _dataset()
    split = LeaveOneOutSplit.build(ds, max_len=4)
    train = training_csr(split)
    # every (input, target) pair of the split is a transition in the training CSR
    rows = split.train_inputs, split.train_targets
    pairs = {(a, b) for r_in, r_t in zip(*rows, strict=True) for a, b in zip(r_in, r_t, strict=True) if a}
    seqs = np.split(train.items, train.indptr[1:-1])
    csr_pairs = {(int(s[i]), int(s[i + 1])) for s in seqs for i in range(len(s) - 1)}
    assert pairs == csr_pairs


def test_user_and_all_protocols() -> None:
    ds = _dataset()
    assert training_csr(ds, protocol="user").items.tolist() == [1, 2, 3, 4, 5, 3, 2, 1]
    assert training_csr(ds, protocol="user", train_users=np.array([1])).items.tolist() == [6, 7]
    assert training_csr(ds, protocol="all").items.tolist() == ds.items.tolist()
    with pytest.raises(ValueError, match="unknown protocol"):
        training_csr(ds, protocol="bogus")
