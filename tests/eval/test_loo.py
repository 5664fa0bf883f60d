"""Leave-one-out evaluation: blocking, history masking, row subsets, mode restore."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import evaluate_loo, loo_metric_sums, mask_history_scores
from graphrec.eval.metrics import add_metric_sums
from graphrec.models.base import SequentialRecommender


class FixedScores(SequentialRecommender):
    """Every user gets the same item scores ``table`` (index 0 = padding)."""

    def __init__(self, table: list[float]) -> None:
        super().__init__(len(table) - 1)
        self.table = nn.Parameter(torch.tensor(table)[:, None])  # (N + 1, 1)
        self.modes: list[bool] = []

    def interests(self, batch: SeqBatch) -> Tensor:
        self.modes.append(self.training)
        return torch.ones(batch.batch_size, 1, 1)  # (B, 1, 1)

    def item_embeddings(self) -> Tensor:
        return self.table

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        return {"zero": self.table.sum() * 0}


# items 1..6 ranked by score: 6 > 5 > 4 > 3 > 2 > 1
MODEL_TABLE = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
SEQS = [
    [1, 2, 6, 5],   # valid target 6 (rank 0), test target 5 (rank 1; history {1,2,6})
    [6, 4, 3, 1],   # valid 3 (rank 3), test 1 (rank 5; history {6,4,3})
    [2, 5, 2],      # valid 5 (rank 1), test 2 (rank 4; history {2,5}: 2 itself is masked)
    [3, 4],         # too short: not evaluated
]


@pytest.fixture()
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(SequenceDataset.from_sequences(SEQS, num_items=6), max_len=3)


def test_unmasked_by_hand(split: LeaveOneOutSplit) -> None:
    model = FixedScores(MODEL_TABLE)
    valid = evaluate_loo(model, split, "valid", batch_size=2)
    assert valid["num_users"] == 3 and valid["mask_history"] is False
    assert valid["HR@5"] == pytest.approx(1.0)  # ranks 0, 3, 1
    assert valid["MRR"] == pytest.approx((1 + 1 / 4 + 1 / 2) / 3)
    test = evaluate_loo(model, split, "test", batch_size=1)
    assert test["HR@5"] == pytest.approx(2 / 3)  # ranks 1, 5, 4
    assert test["NDCG@5"] == pytest.approx((1 / np.log2(3) + 1 / np.log2(6)) / 3)
    assert test["users_per_s"] > 0 and test["seconds"] >= 0


def test_masked_by_hand(split: LeaveOneOutSplit) -> None:
    model = FixedScores(MODEL_TABLE)
    test = evaluate_loo(model, split, "test", mask_history=True)
    # user 0: target 5, masked {1,2,6} -> rank 0; user 1: target 1, masked {6,4,3} -> rank 2 (5, 2 above)
    # user 2: target 2 is in its history -> masked too, ranks last (5 of 0..5): a miss for k=5
    assert test["mask_history"] is True
    assert test["HR@5"] == pytest.approx(2 / 3)
    assert test["MRR"] == pytest.approx((1 + 1 / 3 + 1 / 6) / 3)


def test_mask_history_scores_vectorised() -> None:
    scores = torch.zeros(3, 5)
    mask_history_scores(scores, torch.tensor([0, 2, 2, 3]), torch.tensor([1, 3, 4]))
    expected = torch.zeros(3, 5)
    expected[0, 1] = expected[0, 3] = expected[2, 4] = float("-inf")
    assert torch.equal(scores, expected)


def test_row_subsets_sum_to_whole(split: LeaveOneOutSplit) -> None:
    model = FixedScores(MODEL_TABLE)
    whole = loo_metric_sums(model, split, "test")
    parts = add_metric_sums(loo_metric_sums(model, split, "test", rows=np.array([0, 2])),
                            loo_metric_sums(model, split, "test", rows=np.array([1])))
    assert parts == pytest.approx(whole)
    sub = evaluate_loo(model, split, "test", rows=np.array([0]))
    assert sub["num_users"] == 1 and sub["MRR"] == pytest.approx(0.5)


def test_eval_mode_and_restore(split: LeaveOneOutSplit) -> None:
    model = FixedScores(MODEL_TABLE)
    model.train()
    evaluate_loo(model, split, "valid")
    assert model.modes and not any(model.modes) and model.training


def test_nan_model_is_refused(split: LeaveOneOutSplit) -> None:
    model = FixedScores([0.0, 0.1, float("nan"), 0.3, 0.4, 0.5, 0.6])
    with pytest.raises(ValueError, match="NaN"):
        evaluate_loo(model, split, "valid")
    with pytest.raises(ValueError, match="which"):
        evaluate_loo(model, split, "train")
