"""Novelty, category share and coverage on hand-made lists, and inside both protocols' passes."""

from __future__ import annotations

import math

import numpy as np
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.eval.beyond_accuracy import (
    BeyondAccuracy,
    coverage,
    list_category_share,
    list_novelty,
    self_information,
)
from graphrec.eval.loo import evaluate_loo
from graphrec.eval.user_protocol import evaluate_user_split
from graphrec.models.context import ModelContext
from graphrec.models.dsie import DSIE

COUNTS = np.array([0, 4, 2, 1, 1, 0])  # 8 training interactions; item 5 never seen
CATS = torch.tensor([0, 1, 1, 2, 0, 3])


def test_self_information_hand_computed() -> None:
    info = self_information(COUNTS)
    expected = [0.0, 1.0, 2.0, 3.0, 3.0, 3.0]  # -log2(4/8), -log2(2/8), -log2(1/8); unseen counts once
    torch.testing.assert_close(info, torch.tensor(expected, dtype=torch.float64))


def test_list_metrics_hand_computed() -> None:
    lists = torch.tensor([[1, 2, 3], [1, 4, 0], [0, 0, 0]])
    nov, defined = list_novelty(lists, self_information(COUNTS))
    torch.testing.assert_close(nov, torch.tensor([2.0, 2.0, 0.0], dtype=torch.float64))
    assert defined.tolist() == [True, True, False]
    share, known = list_category_share(lists, CATS)
    # row 0: categories 1, 1, 2 -> 2 distinct of 3; row 1: item 4 unknown -> 1 of 1; row 2 empty
    torch.testing.assert_close(share, torch.tensor([2 / 3, 1.0, 0.0], dtype=torch.float64))
    assert known.tolist() == [True, True, False]
    assert coverage(lists, 5) == 4 / 5  # items 1, 2, 3, 4


def test_accumulator_merges_blocks() -> None:
    acc = BeyondAccuracy(COUNTS, CATS, ns=(1, 2))
    acc.update(torch.tensor([[1, 2], [3, 1]]))
    acc.update(torch.tensor([[5, 5]]))
    out = acc.result()
    assert math.isclose(out["Novelty@1"], (1 + 3 + 3) / 3)
    assert math.isclose(out["Novelty@2"], (1.5 + 2 + 3) / 3)
    assert math.isclose(out["CategoryShare@2"], (0.5 + 1 + 0.5) / 3)
    assert math.isclose(out["Coverage@1"], 3 / 5) and math.isclose(out["Coverage@2"], 4 / 5)


def test_both_protocols_report_it_only_when_asked() -> None:
    data = generate_synthetic(num_users=40, num_items=60, num_categories=9, num_intents=3, mean_length=8,
                              max_length=20, seed=0)
    loo = LeaveOneOutSplit.build(data, max_len=10)
    torch.manual_seed(0)
    model = DSIE.from_context(ModelContext.from_split(loo), hidden_size=8, num_negatives=8)
    plain = evaluate_loo(model, loo, "test")
    extra = evaluate_loo(model, loo, "test", beyond_accuracy=True)
    beyond = extra.pop("beyond_accuracy")
    assert {k: v for k, v in plain.items() if k not in ("seconds", "users_per_s")} == \
        {k: v for k, v in extra.items() if k not in ("seconds", "users_per_s")}
    assert set(beyond) == {f"{m}@{n}" for m in ("Novelty", "CategoryShare", "Coverage") for n in (20, 50)}
    assert 0 < beyond["Coverage@20"] <= beyond["Coverage@50"] <= 1
    user = UserSplit.build(data, max_len=10, seed=0)
    result = evaluate_user_split(model, user, "test", beyond_accuracy=True)
    assert result["beyond_accuracy"]["Novelty@20"] > 0 and "Recall@20" in result
    assert "beyond_accuracy" not in evaluate_user_split(model, user, "test")
