"""Adversarial domain classification behind a gradient-reversal layer.

Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation" (DANN), ICML 2015:
a classifier learns to predict a nuisance label (the *domain*) from a representation,
while the encoder below it receives the classifier's gradient with its sign flipped,
so that it learns to *remove* that information. The gradient-reversal layer (GRL)
is the identity in the forward pass and multiplies the gradient by :math:`-\\lambda`
in the backward pass:

.. math::
    R_\\lambda(x) = x, \\qquad \\frac{\\partial R_\\lambda}{\\partial x} = -\\lambda I

so that minimising the classifier's loss :math:`\\mathcal{L}_{Adv}` over all
parameters performs gradient descent for the classifier and gradient *ascent*
(scaled by :math:`\\lambda`) for the encoder — the encoder's objective
:math:`\\mathcal{L}_{SR} - \\lambda \\mathcal{L}_{Adv}` of S4Rec §4.3 (where the factor
is called :math:`\\gamma`).

S4Rec (Wei et al., WWW 2024, Eq. 13) uses it with two domains, *head* and *tail*
sequences: the head is the longest 20 % of the training sequences
(:func:`graphrec.data.lengths.head_flags`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class GradientReversal(torch.autograd.Function):
    """Identity forward, gradient times ``-lambda_`` backward (:func:`grad_reverse`)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, lambda_: float) -> Tensor:
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad.neg() * ctx.lambda_, None


def grad_reverse(x: Tensor, lambda_: float = 1.0) -> Tensor:
    """:math:`R_\\lambda(x)`: ``x`` unchanged; its gradient multiplied by ``-lambda_``.

    Args:
        x: any tensor.
        lambda_: reversal strength :math:`\\lambda \\ge 0`.

    Returns:
        A tensor equal to ``x`` (same shape).
    """
    return GradientReversal.apply(x, lambda_)  # type: ignore[no-any-return]


class GradientReversalLayer(nn.Module):
    """Module form of :func:`grad_reverse`.

    Args:
        lambda_: reversal strength :math:`\\lambda` (default 1.0).

    Shapes:
        any -> the same.
    """

    def __init__(self, lambda_: float = 1.0) -> None:
        super().__init__()
        if lambda_ < 0:
            raise ValueError(f"lambda_ must be >= 0, got {lambda_}")
        self.lambda_ = float(lambda_)

    def reset_parameters(self) -> None:
        """No parameters."""

    def forward(self, x: Tensor) -> Tensor:
        return grad_reverse(x, self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}"


class DomainClassifier(nn.Module):
    """A linear domain classifier behind a gradient-reversal layer (S4Rec Eq. 13, DANN).

    .. math::
        \\hat c = W R_\\lambda(z_u) + b, \\qquad
        \\mathcal{L}_{Adv} = -\\hat c[c] + \\log \\sum_i \\exp(\\hat c[i])

    (the cross-entropy is taken by the caller on the returned logits).

    Args:
        hidden_size: input width ``D``.
        num_domains: number of domain classes ``C`` (default 2: tail, head).
        lambda_: gradient-reversal strength :math:`\\lambda` (default 1.0).

    Shapes:
        ``(B, D)`` -> logits ``(B, C)``.
    """

    def __init__(self, hidden_size: int, num_domains: int = 2, lambda_: float = 1.0) -> None:
        super().__init__()
        if num_domains < 2:
            raise ValueError(f"num_domains must be >= 2, got {num_domains}")
        self.reverse = GradientReversalLayer(lambda_)
        self.linear = nn.Linear(hidden_size, num_domains)  # W, b
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(self.reverse(z))  # (B, C)


__all__ = ["DomainClassifier", "GradientReversal", "GradientReversalLayer", "grad_reverse"]
