"""Rank-based metrics against rankings worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.eval.metrics import (
    add_metric_sums,
    finalize_metrics,
    is_metric_name,
    metric_names,
    rank_metrics,
    sum_metric_sums,
    target_ranks,
)

NEG_INF = float("-inf")


def test_ranks_by_hand() -> None:
    # items 1..5 (column 0 = padding)
    scores = torch.tensor([
        [NEG_INF, 0.1, 0.9, 0.5, 0.3, 0.7],   # target 3 (0.5): 0.9, 0.7 above -> rank 2
        [NEG_INF, 0.1, 0.9, 0.5, 0.3, 0.7],   # target 2 (0.9): best -> rank 0
        [NEG_INF, 0.1, 0.9, 0.5, 0.3, 0.7],   # target 1 (0.1): worst -> rank 4
    ])
    ranks = target_ranks(scores, torch.tensor([3, 2, 1]))
    assert ranks.tolist() == [2, 0, 4]


def test_ties_count_against_target() -> None:
    scores = torch.tensor([
        [NEG_INF, 1.0, 1.0, 1.0, 1.0],  # all tied: target 2 ranks behind the 3 others
        [NEG_INF, 2.0, 1.0, 1.0, 0.0],  # target 3 tied with item 2, item 1 above -> rank 2
    ])
    assert target_ranks(scores, torch.tensor([2, 3])).tolist() == [3, 2]


def test_padding_column_excluded_whatever_it_holds() -> None:
    scores = torch.tensor([[100.0, 0.2, 0.1, 0.3]])  # padding scores highest, must not count
    assert target_ranks(scores, torch.tensor([3])).tolist() == [0]


def test_nan_refused() -> None:
    scores = torch.tensor([[NEG_INF, 0.1, float("nan"), 0.3]])
    with pytest.raises(ValueError, match="NaN"):
        target_ranks(scores, torch.tensor([1]))


def test_padding_target_refused() -> None:
    with pytest.raises(ValueError, match="1..3"):
        target_ranks(torch.zeros(1, 4), torch.tensor([0]))


def test_rank_metrics_sums_by_hand() -> None:
    ranks = torch.tensor([0, 2, 7, 30])
    m = rank_metrics(ranks, ks=(1, 5, 10))
    assert m["count"] == 4
    assert m["HR@1"] == 1 and m["HR@5"] == 2 and m["HR@10"] == 3
    assert m["NDCG@1"] == pytest.approx(1.0)
    assert m["NDCG@5"] == pytest.approx(1.0 + 1.0 / math.log2(4))
    assert m["NDCG@10"] == pytest.approx(1.0 + 1.0 / math.log2(4) + 1.0 / math.log2(9))
    assert m["MRR"] == pytest.approx(1 + 1 / 3 + 1 / 8 + 1 / 31)
    assert list(m)[:-1] == metric_names((1, 5, 10))


def test_sums_merge_exactly() -> None:
    ranks = torch.tensor([0, 1, 4, 9, 15, 3])
    whole = rank_metrics(ranks)
    merged = sum_metric_sums([rank_metrics(ranks[:2]), rank_metrics(ranks[2:5]), rank_metrics(ranks[5:])])
    assert merged == pytest.approx(whole)
    assert add_metric_sums(rank_metrics(ranks[:3]), rank_metrics(ranks[3:])) == pytest.approx(whole)
    final = finalize_metrics(whole)
    assert "count" not in final
    assert final["HR@5"] == pytest.approx(4 / 6)


def test_counting_equals_topk_without_ties() -> None:
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(32, 101, generator=gen)
    scores[:, 0] = NEG_INF
    targets = torch.randint(1, 101, (32,), generator=gen)
    ranks = target_ranks(scores, targets)
    top = scores.topk(10, dim=1).indices  # (B, 10)
    pos = (top == targets[:, None]).float().argmax(dim=1)
    hit = (top == targets[:, None]).any(dim=1)
    assert torch.equal(hit, ranks < 10)
    assert torch.equal(pos[hit], ranks[hit])


def test_metric_names() -> None:
    assert is_metric_name("NDCG@10") and is_metric_name("MRR") and not is_metric_name("ndcg10")
