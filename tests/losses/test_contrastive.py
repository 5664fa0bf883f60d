"""Contrastive losses (InfoNCE, NT-Xent, prototype negatives, angular margin) on hand-worked cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphrec.losses import (
    additive_angular_margin,
    angular_margin_info_nce,
    info_nce,
    nt_xent,
    prototype_info_nce,
    prototype_negatives,
)

E = math.e


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


def test_info_nce_hand_value_and_extra_negatives() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    tau = 0.5
    # logits a @ b.T / tau = [[4, 2], [0, 2]]
    row0 = -4.0 + math.log(math.exp(4) + math.exp(2))
    row1 = -2.0 + math.log(math.exp(0) + math.exp(2))
    assert info_nce(a, b, tau).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    extra = torch.tensor([[0.0, 3.0]])  # shared: logits [0, 6]
    row0x = -4.0 + math.log(math.exp(4) + math.exp(2) + math.exp(0))
    row1x = -2.0 + math.log(math.exp(0) + math.exp(2) + math.exp(6))
    assert info_nce(a, b, tau, extra).item() == pytest.approx((row0x + row1x) / 2, rel=1e-6)
    per_anchor = extra.expand(2, 1, 2)  # (B, M, D) gives the same answer
    assert info_nce(a, b, tau, per_anchor).item() == pytest.approx((row0x + row1x) / 2, rel=1e-6)


def test_info_nce_normalize_and_gradients() -> None:
    a = torch.tensor([[3.0, 0.0], [0.0, 2.0]], requires_grad=True)
    b = torch.tensor([[5.0, 0.0], [1.0, 1.0]], requires_grad=True)
    # cosine: [[1, 1/sqrt2], [0, 1/sqrt2]] / tau
    c = 1 / math.sqrt(2)
    row0 = -1.0 + math.log(math.exp(1.0) + math.exp(c))
    row1 = -c + math.log(math.exp(0.0) + math.exp(c))
    loss = info_nce(a, b, 1.0, normalize=True)
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all() and a.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="temperature"):
        info_nce(a, b, 0.0)


def test_nt_xent_hand_worked() -> None:
    # x = [e1, e2, e1, e2]: each anchor sees its positive (dot 1) and two orthogonal vectors (dot 0)
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = nt_xent(a, a.clone(), temperature=1.0)
    assert loss.item() == pytest.approx(math.log((E + 2) / E), rel=1e-6)
    # cosine = dot here; temperature 0.5 doubles every logit
    expected = math.log((E**2 + 2) / E**2)
    assert nt_xent(3 * a, a, 0.5, normalize=True).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_groups_drop_false_negatives() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # both rows in one group: every negative is dropped, only the positive is left -> loss 0
    assert nt_xent(a, a, 1.0, groups=torch.tensor([4, 4])).item() == pytest.approx(0.0, abs=1e-7)
    # distinct groups: the plain loss
    assert nt_xent(a, a, 1.0, groups=torch.tensor([0, 1])).item() == pytest.approx(nt_xent(a, a, 1.0).item())


def test_nt_xent_is_symmetric_and_validates() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    assert nt_xent(a, b, 0.7).item() == pytest.approx(nt_xent(b, a, 0.7).item(), rel=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(a, b, 0.0)
    with pytest.raises(ValueError, match="groups"):
        nt_xent(a, b, 1.0, groups=torch.zeros(4, dtype=torch.long))


def test_prototype_negatives_leave_out_the_assigned_one() -> None:
    protos = torch.arange(8.0).view(4, 2)  # rows 0..3
    negatives = prototype_negatives(protos, torch.tensor([0, 2, 3]))
    assert negatives.shape == (3, 3, 2)
    assert negatives[0].tolist() == protos[[1, 2, 3]].tolist()
    assert negatives[1].tolist() == protos[[0, 1, 3]].tolist()
    assert negatives[2].tolist() == protos[[0, 1, 2]].tolist()


def test_prototype_info_nce_hand_worked_and_equals_info_nce_with_negatives() -> None:
    a = torch.tensor([[1.0, 0.0]])
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # positive dot 1; negatives: prototypes 1 and 2 (dots 0 and -1), prototype 0 is assigned
    loss = prototype_info_nce(a, a, protos, torch.tensor([0]), temperature=1.0)
    assert loss.item() == pytest.approx(-math.log(E / (E + 1 + 1 / E)), rel=1e-6)
    g = torch.Generator().manual_seed(1)
    x, y, mu = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g), torch.randn(5, 4, generator=g)
    h = torch.tensor([0, 4, 2, 2, 1, 3])
    expected = info_nce(x, y, 0.3, extra_negatives=prototype_negatives(mu, h), normalize=True)
    loss = prototype_info_nce(x, y, mu, h, 0.3, normalize=True)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


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
