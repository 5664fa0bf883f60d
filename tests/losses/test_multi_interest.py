"""Multi-interest losses: the closest interest's sampled softmax, orthogonality, max-over-interests CE."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.losses import (
    argmax_interest,
    candidate_log_probs,
    interest_orthogonality,
    interest_sampled_softmax,
    max_interest_full_ce,
    sampled_softmax_ce,
)


def test_argmax_interest_picks_the_closest_interest() -> None:
    interests = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]],
                              [[0.0, 2.0], [3.0, 0.0], [0.0, -1.0]]], requires_grad=True)
    targets = torch.tensor([[0.1, 0.9], [0.1, -0.5]])  # row 0 -> interest 1, row 1 -> interest 2
    selected, index = argmax_interest(interests, targets)
    assert index.tolist() == [1, 2]
    assert torch.equal(selected.detach(), torch.tensor([[0.0, 1.0], [0.0, -1.0]]))
    selected.sum().backward()
    assert interests.grad is not None
    used = torch.zeros(2, 3, dtype=torch.bool)
    used[0, 1] = used[1, 2] = True
    assert torch.all(interests.grad[~used] == 0) and torch.all(interests.grad[used] == 1)


def test_interest_sampled_softmax_is_the_sampled_softmax_of_the_chosen_interest() -> None:
    torch.manual_seed(0)
    items = torch.randn(9, 3)
    interests = torch.randn(4, 3, 3)
    targets = torch.tensor([1, 2, 3, 8])
    negatives = torch.tensor([4, 5, 6, 7, 8])  # 8 is an accidental hit for the last row
    log_q = candidate_log_probs(8, "log_uniform")
    loss = interest_sampled_softmax(interests, items, targets, negatives, log_q)
    best = torch.einsum("bkd,bd->bk", interests, items[targets]).argmax(1)
    expected = sampled_softmax_ce(interests[torch.arange(4), best], items, targets, negatives, log_q)
    assert float(loss) == pytest.approx(float(expected))
    # any other choice of interest gives a different loss
    other = sampled_softmax_ce(interests[torch.arange(4), (best + 1) % 3], items, targets, negatives, log_q)
    assert float(other) != pytest.approx(float(expected))


def test_interest_orthogonality() -> None:
    orthogonal = torch.eye(3).unsqueeze(0) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1)
    assert float(interest_orthogonality(orthogonal)) == pytest.approx(0.0, abs=1e-7)
    identical = torch.ones(2, 3, 4)
    assert float(interest_orthogonality(identical)) == pytest.approx(1.0, abs=1e-6)
    pair = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])  # cos 45 deg -> 1/2 squared
    assert float(interest_orthogonality(pair)) == pytest.approx(0.5, abs=1e-6)
    assert float(interest_orthogonality(torch.randn(2, 1, 4))) == 0.0


def test_max_interest_full_ce_closed_form() -> None:
    """Scores are max over interests; item 0 is not a candidate; K = 1 is plain full CE."""

    table = torch.tensor([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # row 0 = padding
    interests = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])  # (1, K=2, D=2)
    # s_1 = max(2, 0) = 2, s_2 = max(0, 1) = 1, s_3 = max(2, 1) = 2; target 2
    expected = -(1.0 - math.log(math.exp(2) + math.exp(1) + math.exp(2)))
    got = max_interest_full_ce(interests, table, torch.tensor([2]))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    one = interests[:, :1]
    plain = torch.nn.functional.cross_entropy(one[:, 0] @ table[1:].T, torch.tensor([0]))
    assert max_interest_full_ce(one, table, torch.tensor([1])).item() == pytest.approx(plain.item(), rel=1e-6)
