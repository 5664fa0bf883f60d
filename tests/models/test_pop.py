"""POP: ranks by training counts through the shared scoring code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.models import resolve
from graphrec.models.pop import POP


def _batch(b: int = 2) -> SeqBatch:
    return SeqBatch(input_ids=torch.ones(b, 3, dtype=torch.long), user_ids=torch.arange(b))


def test_scores_are_log_counts_for_every_user() -> None:
    model = POP.from_counts([0, 5, 1, 9, 0])
    assert resolve("pop") is POP and model.num_items == 4
    assert model.trainable is False and model.loss_terms(_batch()) == {}
    assert model.terms() == () and POP.config_keys() == []
    scores = model.score_all(_batch())
    expected = torch.tensor([-math.inf, math.log(6), math.log(2), math.log(10), 0.0])
    torch.testing.assert_close(scores, expected.expand(2, 5))
    assert model.interests(_batch(3)).shape == (3, 1, 1)
    assert scores[0, 1:].argsort(descending=True).tolist() == [2, 0, 1, 3]  # items 3, 1, 2, 4


def test_counts_from_leave_one_out_exclude_held_out_items() -> None:
    # user 0: 1 2 3 | valid 4, test 5 ; user 1: 2 3 | valid 3, test 5
    items = np.array([1, 2, 3, 4, 5, 2, 3, 3, 5])
    dataset = SequenceDataset(indptr=np.array([0, 5, 9]), items=items, num_items=5)
    split = LeaveOneOutSplit.build(dataset, max_len=4)
    model = POP(num_items=5, item_counts=split.train_item_counts())
    scores = model.score_all(_batch(1))[0]
    # training counts: item1 1, item2 2, item3 2, item4 0, item5 0
    torch.testing.assert_close(scores[1:], torch.log1p(torch.tensor([1.0, 2.0, 2.0, 0.0, 0.0])))


def test_state_dict_round_trip_and_set_counts() -> None:
    model = POP(num_items=3)
    torch.testing.assert_close(model.item_embeddings(), torch.zeros(4, 1))  # no counts yet: all tied
    model.set_counts(np.array([0, 1, 2, 3]))
    clone = POP(num_items=3)
    clone.load_state_dict(model.state_dict())
    torch.testing.assert_close(clone.item_embeddings(), model.item_embeddings())


def test_bad_counts() -> None:
    with pytest.raises(ValueError, match="expected num_items \\+ 1 = 4"):
        POP(num_items=3, item_counts=[1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        POP(num_items=2, item_counts=[0, -1, 2])
