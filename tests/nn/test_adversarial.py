"""Gradient reversal, the domain classifier behind it, and head/tail labels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphrec.data.lengths import head_flags
from graphrec.nn.adversarial import DomainClassifier, GradientReversalLayer, grad_reverse


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0, 3.0])
def test_gradient_reversal_is_identity_forward_and_flips_gradient(lam: float) -> None:
    x = torch.tensor([[1.0, -2.0, 3.0]], requires_grad=True)
    w = torch.tensor([[0.5, 4.0, -1.0]])
    y = grad_reverse(x, lam)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    assert x.grad is not None and torch.equal(x.grad, -lam * w)
    layer = GradientReversalLayer(lam)
    x2 = x.detach().clone().requires_grad_(True)
    (layer(x2) * w).sum().backward()
    assert x2.grad is not None and torch.equal(x2.grad, -lam * w)
    assert "lambda_" in repr(layer)


def test_gradient_reversal_rejects_negative_strength() -> None:
    with pytest.raises(ValueError, match="lambda_"):
        GradientReversalLayer(-1.0)


def test_domain_classifier_descends_while_the_encoder_ascends() -> None:
    torch.manual_seed(0)
    clf = DomainClassifier(3, num_domains=2, lambda_=0.7)
    z = torch.randn(4, 3, requires_grad=True)
    labels = torch.tensor([0, 1, 1, 0])
    F.cross_entropy(clf(z), labels).backward()
    # the same loss without reversal: the classifier's gradient is unchanged, the input's flipped
    z_plain = z.detach().clone().requires_grad_(True)
    weight = clf.linear.weight.detach().clone().requires_grad_(True)
    F.cross_entropy(z_plain @ weight.T + clf.linear.bias.detach(), labels).backward()
    assert clf.linear.weight.grad is not None and z.grad is not None
    assert torch.allclose(clf.linear.weight.grad, weight.grad)  # type: ignore[arg-type]
    assert torch.allclose(z.grad, -0.7 * z_plain.grad)  # type: ignore[operator]
    assert clf(z).shape == (4, 2)


def test_head_flags_longest_share_with_ties_and_empty_users() -> None:
    lengths = [0, 5, 3, 9, 3, 7, 1, 2, 4, 6, 8]  # 10 users with training rows; the 2 longest: 9, 8
    assert head_flags(lengths, 0.2).tolist() == [False, False, False, True, False, False, False, False,
                                                 False, False, True]
    # ties at the threshold share the label: the longest 20 % of 5 is one user, but three have length 5
    assert head_flags([5, 5, 1, 5, 1], 0.2).tolist() == [True, True, False, True, False]
    assert not head_flags([3, 4, 0], 0.0).any()
    assert head_flags([3, 4, 0], 1.0).tolist() == [True, True, False]  # length 0 is never head
    with pytest.raises(ValueError, match="head_ratio"):
        head_flags([1, 2], 1.5)
