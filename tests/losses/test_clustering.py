"""Clustering and distillation losses (SwAV/S4Rec) on hand-worked cases."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.losses import (
    cluster_cross_entropy,
    self_distillation_kl,
    sinkhorn_knopp,
    soft_assignment,
    swapped_prediction,
)

E = math.e




def test_soft_assignment_hand_worked() -> None:
    z = torch.tensor([[1.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = soft_assignment(z, mu, temperature=0.5)  # logits [2, 0]
    assert p[0].tolist() == pytest.approx([E**2 / (E**2 + 1), 1 / (E**2 + 1)], rel=1e-6)
    assert torch.allclose(soft_assignment(z, mu, 0.5, log=True).exp(), p)


def test_sinkhorn_closed_form_at_magnitude_100() -> None:
    # scores 100 I on a 4 x 4 batch: the symmetric kernel already has equal row and column sums
    scores = 100.0 * torch.eye(4, dtype=torch.float64)
    q = sinkhorn_knopp(scores, epsilon=1.0, num_iters=1)
    big = math.exp(100.0)
    eye = torch.eye(4, dtype=torch.float64)
    expected = (big * eye + (1 - eye)) / (4 * (big + 3))
    assert torch.allclose(q, expected, rtol=1e-12, atol=0)
    # an additive score u_b + v_k is a rank-one kernel: the plan is uniform after one iteration
    g = torch.Generator().manual_seed(0)
    rand = torch.rand(9, generator=g, dtype=torch.float64)
    additive = 100 * rand[:6, None] + 100 * rand[None, 6:]  # (6, 3)
    plan = sinkhorn_knopp(additive, epsilon=0.5, num_iters=1)
    assert torch.isfinite(plan).all()
    assert torch.allclose(plan, torch.full((6, 3), 1 / 18, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 4), (32, 16), (5, 7)])
def test_sinkhorn_marginals_and_finite_for_large_scores(shape: tuple[int, int]) -> None:
    bsz, num = shape
    g = torch.Generator().manual_seed(bsz)
    scores = (2 * torch.rand(bsz, num, generator=g) - 1) * 100  # magnitude 100
    q = sinkhorn_knopp(scores, epsilon=1.0, num_iters=3)  # SwAV's 3 iterations: finite, rows exact
    assert torch.isfinite(q).all() and (q >= 0).all()
    assert torch.allclose(q.sum(1), torch.full((bsz,), 1 / bsz), atol=1e-6)
    q = sinkhorn_knopp(scores / 20, epsilon=0.05, num_iters=3)  # the same logits as epsilon = 1 above
    assert torch.isfinite(q).all()
    # converged: rows and columns meet the marginals
    moderate = 2 * torch.rand(bsz, num, generator=g) - 1  # cosine scores
    q = sinkhorn_knopp(moderate, epsilon=0.2, num_iters=100)
    assert torch.allclose(q.sum(1), torch.full((bsz,), 1 / bsz), atol=1e-4)
    assert torch.allclose(q.sum(0), torch.full((num,), 1 / num), atol=1e-4)
    assert not q.requires_grad


def test_sinkhorn_prescribed_marginals_and_no_gradient() -> None:
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(4, 3, generator=g, requires_grad=True)
    rows = torch.tensor([0.1, 0.2, 0.3, 0.4])
    cols = torch.tensor([0.5, 0.25, 0.25])
    q = sinkhorn_knopp(scores, epsilon=1.0, num_iters=200, row_marginals=rows, col_marginals=cols)
    assert torch.allclose(q.sum(1), rows, atol=1e-4) and torch.allclose(q.sum(0), cols, atol=1e-4)
    assert q.grad_fn is None
    with pytest.raises(ValueError, match="same total"):
        sinkhorn_knopp(scores, row_marginals=rows, col_marginals=cols * 2)


def test_cluster_cross_entropy_hand_worked() -> None:
    q = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    log_p = torch.log(torch.tensor([[0.5, 0.5], [0.2, 0.8]]))
    expected = -(0.25 * math.log(0.5) + 0.75 * math.log(0.5) + math.log(0.2)) / 2
    assert cluster_cross_entropy(q, log_p).item() == pytest.approx(expected, rel=1e-6)


def test_swapped_prediction_hand_worked() -> None:
    # two samples on two orthogonal prototypes: the Sinkhorn plan is already balanced, so
    # q_u = softmax(s_u / eps) and p_u = softmax(s_u / tau) with s = I
    z = torch.eye(2)
    eps, tau = 0.5, 0.25
    sigma = E ** (1 / eps) / (E ** (1 / eps) + 1)  # target mass on the own prototype
    pi = E ** (1 / tau) / (E ** (1 / tau) + 1)  # predicted mass on the own prototype
    expected = -(sigma * math.log(pi) + (1 - sigma) * math.log(1 - pi))
    loss = swapped_prediction(z, z.clone(), torch.eye(2), temperature=tau, epsilon=eps, num_iters=3)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_swapped_prediction_swaps_the_views() -> None:
    g = torch.Generator().manual_seed(5)
    z1, z2 = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    mu = torch.randn(4, 3, generator=g)
    q1 = sinkhorn_knopp(z1 @ mu.T, 0.05, 3) * 6
    q2 = sinkhorn_knopp(z2 @ mu.T, 0.05, 3) * 6
    lp1 = soft_assignment(z1, mu, 0.1, log=True)
    lp2 = soft_assignment(z2, mu, 0.1, log=True)
    expected = 0.5 * (cluster_cross_entropy(q2, lp1) + cluster_cross_entropy(q1, lp2))
    assert swapped_prediction(z1, z2, mu).item() == pytest.approx(expected.item(), rel=1e-6)


def test_self_distillation_kl_hand_worked() -> None:
    teacher = torch.tensor([[0.0, 2 * math.log(3.0)]])  # softmax at tau = 2: [1/4, 3/4]
    student = torch.zeros(1, 2, requires_grad=True)  # [1/2, 1/2]
    loss = self_distillation_kl(teacher, student, temperature=2.0)
    assert loss.item() == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-6)
    assert self_distillation_kl(teacher, teacher.clone(), 2.0).item() == pytest.approx(0.0, abs=1e-7)
    teacher_param = teacher.clone().requires_grad_(True)
    self_distillation_kl(teacher_param, student, 2.0).backward()
    assert teacher_param.grad is None and student.grad is not None  # the teacher is a target
