"""Head/tail split of leave-one-out metrics: S4Rec's head users, group metrics recombine to the whole."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.head_tail import head_users, metrics_by_group, training_lengths
from graphrec.eval.metrics import metric_names
from graphrec.eval.ranks import metrics_from_ranks


def test_head_users_are_the_longest_fifth_of_training_sequences() -> None:
    # training parts s[:-2]: lengths 8, 6, 4, 3, 2, 2, 2, 2, 2, 1 (the last has no training row)
    lengths = [10, 8, 6, 5, 4, 4, 4, 4, 4, 3]
    seqs = [list(range(1, n + 1)) for n in lengths]
    split = LeaveOneOutSplit.build(SequenceDataset.from_sequences(seqs, num_items=10), max_len=5)
    head = head_users(split)
    assert head.dtype == bool and head.shape == (10,)
    assert head.tolist() == [True, True] + [False] * 8  # ceil(0.2 * 9) = 2 longest of the 9 rows
    assert head_users(split, head_ratio=0.3).tolist() == [True, True, True] + [False] * 7


def test_head_labels_are_s4rec_s() -> None:
    s4rec = pytest.importorskip("graphrec.models.s4rec")
    from graphrec.data.load import load_dataset

    split = LeaveOneOutSplit.build(load_dataset("synthetic", num_users=80, num_items=40), max_len=10)
    np.testing.assert_array_equal(training_lengths(split), s4rec.training_lengths(split))
    model = s4rec.S4Rec(split.num_items, hidden_size=8, num_layers=1, num_prototypes=4,
                        train_lengths=training_lengths(split))
    np.testing.assert_array_equal(head_users(split), model.head.numpy())


def test_group_metrics_by_hand_and_recombined() -> None:
    users = np.array([0, 2, 3, 5])
    ranks = np.array([1, 3, 11, 2])
    head = np.array([True, False, True, False, False, False])
    groups = metrics_by_group(ranks, users, head, ks=(1, 10))
    assert groups["head"]["num_users"] == 2 and groups["tail"]["num_users"] == 2
    # head: users 0 and 2 (ranks 1, 3); tail: users 3 and 5 (ranks 11, 2)
    assert groups["head"]["HR@10"] == 1.0 and groups["tail"]["HR@10"] == 0.5
    assert groups["head"]["HR@1"] == 0.5 and groups["tail"]["HR@1"] == 0.0
    assert groups["head"]["MRR"] == pytest.approx((1 + 1 / 3) / 2)
    assert groups["tail"]["MRR"] == pytest.approx((1 / 11 + 1 / 2) / 2)
    assert groups["head_ratio"] == 0.2 and groups["head_share"] == 0.5
    whole = metrics_from_ranks(ranks, (1, 10))
    for key in metric_names((1, 10)):
        mixed = (2 * groups["head"][key] + 2 * groups["tail"][key]) / 4
        assert mixed == pytest.approx(whole[key], rel=1e-12)


def test_empty_group_and_bad_shapes() -> None:
    groups = metrics_by_group(np.array([4]), np.array([1]), np.array([True, False]))
    assert groups["head"]["num_users"] == 0 and np.isnan(groups["head"]["NDCG@10"])
    assert groups["tail"]["MRR"] == 0.25
    with pytest.raises(ValueError, match="same shape"):
        metrics_by_group(np.array([1, 2]), np.array([0]), np.array([True]))
