"""The ComiRec-code NDCG (``NDCG_comirec@N``) on hand-worked lists, beside the standard NDCG."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from graphrec.eval.user_protocol import comirec_ndcg_sums, finalize_user_metrics, list_metric_sums


def _csr(rows: list[list[int]]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    return indptr, torch.tensor([i for r in rows for i in r], dtype=torch.long)


def _by_the_formula(recommended: list[int], targets: list[int]) -> float:
    """The formula of the module docstring for one user, with plain Python numbers."""
    found = [j for j, t in enumerate(targets) if t in set(recommended)]
    if not found:
        return 0.0
    dcg = sum(1 / math.log2(j + 2) for j in found)
    return dcg / sum(1 / math.log2(r + 2) for r in range(len(found)))


def test_hand_worked_list() -> None:
    lists = torch.tensor([[5, 3, 9, 1], [2, 4, 6, 8], [1, 2, 3, 4], [7, 0, 0, 0]])
    indptr, items = _csr([[3, 1, 7], [8], [9], [6, 7]])
    sums = comirec_ndcg_sums(lists, indptr, items, ns=(2, 4))
    # row 0 @2: list {5, 3}; targets (3, 1, 7): hit at target position 0 -> DCG 1, one hit, IDCG 1 -> 1
    # row 0 @4: {5, 3, 9, 1}: hits at positions 0 and 1 -> DCG 1 + 1/log2(3), IDCG the same -> 1
    # row 1: target 8 ranked 4th -> 0 @2 and 1 @4 (the rank in the list plays no part)
    # row 2: no hit -> 0; row 3: only the second target (7) is found, ranked first:
    #   DCG 1/log2(3), IDCG over one hit = 1 -> 1/log2(3) at both cut-offs
    g3 = 1 / math.log2(3)
    assert sums["NDCG_comirec@2"] == pytest.approx(1 + 0 + 0 + g3)
    assert sums["NDCG_comirec@4"] == pytest.approx(1 + 1 + 0 + g3)
    for n in (2, 4):
        by_hand = sum(_by_the_formula([i for i in lists[r, :n].tolist() if i],
                                      items[indptr[r]:indptr[r + 1]].tolist()) for r in range(4))
        assert sums[f"NDCG_comirec@{n}"] == pytest.approx(by_hand)


def test_reported_beside_the_standard_ndcg_without_changing_it() -> None:
    lists = torch.tensor([[5, 3, 9, 1], [2, 4, 6, 8], [1, 2, 3, 4]])
    indptr, items = _csr([[3, 1, 7], [4], [9]])
    sums = list_metric_sums(lists, indptr, items, ns=(2, 4))
    g2, g3, g5 = 1.0, 1 / math.log2(3), 1 / math.log2(5)
    assert sums["NDCG@4"] == pytest.approx((g3 + g5) / (g2 + g3 + 0.5) + g3)  # standard: by list rank
    # ComiRec's: row 0 finds targets 0 and 1 (3 and 1) -> 1; row 1 finds its only target -> 1
    assert sums["NDCG_comirec@4"] == pytest.approx(2.0)
    means = finalize_user_metrics(sums)
    assert means["NDCG_comirec@4"] == pytest.approx(2 / 3)
    # the reason the paper's NDCG exceeds its recall
    assert means["NDCG_comirec@4"] > means["Recall@4"] > means["NDCG@4"]
    empty = comirec_ndcg_sums(torch.zeros((0, 4), dtype=torch.long), torch.zeros(1, dtype=torch.long),
                              torch.zeros(0, dtype=torch.long), ns=(4,))
    assert empty == {"NDCG_comirec@4": 0.0}
