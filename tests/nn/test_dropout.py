"""CPU-fast inverted dropout: rate, expectation, identity in eval mode."""

from __future__ import annotations

import pytest
import torch

from graphrec.nn.dropout import Dropout, dropout


def test_rate_and_scaling() -> None:
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = dropout(x, 0.3)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.01)
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)  # unbiased


def test_identity_limits_and_gradient() -> None:
    x = torch.randn(5, 3, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    assert torch.all(dropout(x, 1.0) == 0)
    y = dropout(x, 0.5)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).float() * 2.0)  # grad = mask / (1 - p)


def test_module() -> None:
    m = Dropout(0.5)
    assert "p=0.5" in repr(m)
    m.eval()
    x = torch.randn(4)
    assert torch.equal(m(x), x)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.5)
