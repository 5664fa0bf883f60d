"""Multi-interest losses: samplers, argmax-interest softmax, angular-margin InfoNCE, orthogonality."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphrec.losses import (
    additive_angular_margin,
    angular_margin_info_nce,
    argmax_interest,
    candidate_log_probs,
    interest_orthogonality,
    interest_sampled_softmax,
    nt_xent,
    sample_candidates,
    sampled_softmax_ce,
)


def test_candidate_log_probs() -> None:
    uniform = candidate_log_probs(4, "uniform")
    assert uniform[0] == float("-inf") and torch.allclose(uniform[1:].exp(), torch.full((4,), 0.25))
    by_id = candidate_log_probs(4, "log_uniform").exp()
    expected = torch.tensor([math.log((r + 2) / (r + 1)) / math.log(5) for r in range(4)])
    assert torch.allclose(by_id[1:], expected) and by_id.sum() == pytest.approx(1.0, abs=1e-6)
    counts = torch.tensor([0, 1, 9, 5, 9])  # ranks: item 2 (first of the tie), 4, 3, 1
    ranked = candidate_log_probs(4, "log_uniform", counts).exp()
    assert torch.allclose(ranked[[2, 4, 3, 1]], expected)
    drawn = sample_candidates(candidate_log_probs(4, "log_uniform", counts), 4000,
                              torch.Generator().manual_seed(0))
    freq = torch.bincount(drawn, minlength=5).double() / 4000
    assert freq[0] == 0 and torch.allclose(freq[1:], ranked[1:].double(), atol=0.03)
    with pytest.raises(ValueError, match="sampler"):
        candidate_log_probs(4, "zipf")


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


def test_additive_angular_margin_closed_form() -> None:
    theta = torch.tensor([0.0, 0.5, 1.0, 3.0])
    m = 0.2
    out = additive_angular_margin(theta.cos(), m)
    inside = theta + m <= math.pi
    assert torch.allclose(out[inside], (theta[inside] + m).cos(), atol=1e-5)
    assert out[~inside].item() == pytest.approx(math.cos(3.0) - m * math.sin(m), abs=1e-6)  # monotone branch
    assert torch.equal(additive_angular_margin(theta.cos(), 0.0), theta.cos())
    grid = torch.linspace(-1, 1, 201)
    assert bool((additive_angular_margin(grid, 0.5).diff() >= 0).all())  # never larger for a larger angle


def _eq14(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. 14 written out for one group: each of the 2K vectors against the other 2K - 1."""
    x = F.normalize(torch.cat([a, b]), dim=-1)
    k = a.shape[0]
    total = torch.zeros(())
    for i in range(2 * k):
        partner = (i + k) % (2 * k)
        sims = torch.exp((x[i] @ x.T) / tau)
        total = total - torch.log(sims[partner] / (sims.sum() - sims[i]))
    return total / (2 * k)


def test_angular_margin_info_nce_is_plain_info_nce_at_zero_margin() -> None:
    torch.manual_seed(1)
    a, b = torch.randn(3, 4, 6), torch.randn(3, 4, 6)
    tau = 0.5
    loss = angular_margin_info_nce(a, b, tau, margin=0.0)
    per_group = torch.stack([nt_xent(a[g], b[g], tau, normalize=True) for g in range(3)])
    assert float(loss) == pytest.approx(float(per_group.mean()), abs=1e-6)
    assert float(loss) == pytest.approx(float(torch.stack([_eq14(a[g], b[g], tau) for g in range(3)]).mean()),
                                        abs=1e-5)
    summed = angular_margin_info_nce(a, b, tau, margin=0.0, reduction="group_sum")
    assert float(summed) == pytest.approx(8 * float(loss), rel=1e-6)  # 2K anchors per group


def test_angular_margin_info_nce_grows_with_the_margin() -> None:
    torch.manual_seed(2)
    a = torch.randn(5, 4, 8, requires_grad=True)
    b = (a.detach() + 0.3 * torch.randn(5, 4, 8)).requires_grad_(True)
    losses = [float(angular_margin_info_nce(a.detach(), b.detach(), 0.05, math.radians(m)))
              for m in (0, 5, 10, 15, 20)]
    assert all(x < y for x, y in zip(losses, losses[1:], strict=False))
    loss = angular_margin_info_nce(a, b, 0.05, math.radians(10))
    loss.backward()
    assert a.grad is not None and b.grad is not None and torch.isfinite(a.grad).all()
    # identical views: the positive at angle 0 still pays the margin, no NaN gradient
    c = torch.randn(2, 3, 4, requires_grad=True)
    same = angular_margin_info_nce(c, c, 0.1, 0.2)
    same.backward()
    assert torch.isfinite(same) and c.grad is not None and torch.isfinite(c.grad).all()
    with pytest.raises(ValueError, match="radians"):
        angular_margin_info_nce(a, b, 0.05, -1.0)


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
    from graphrec.losses import max_interest_full_ce

    table = torch.tensor([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # row 0 = padding
    interests = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])  # (1, K=2, D=2)
    # s_1 = max(2, 0) = 2, s_2 = max(0, 1) = 1, s_3 = max(2, 1) = 2; target 2
    expected = -(1.0 - math.log(math.exp(2) + math.exp(1) + math.exp(2)))
    got = max_interest_full_ce(interests, table, torch.tensor([2]))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    one = interests[:, :1]
    plain = torch.nn.functional.cross_entropy(one[:, 0] @ table[1:].T, torch.tensor([0]))
    assert max_interest_full_ce(one, table, torch.tensor([1])).item() == pytest.approx(plain.item(), rel=1e-6)
