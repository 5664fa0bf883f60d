"""Eq. 6 over the whole catalogue, against a brute-force computation."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.losses import disentangled_seq2item_catalogue


def test_catalogue_seq2item_equals_brute_force() -> None:
    torch.manual_seed(0)
    b, k, d, n = 3, 2, 4, 5
    phi = torch.randn(b, k, d, dtype=torch.float64)
    table = torch.randn(n + 1, d, dtype=torch.float64)
    targets = torch.tensor([1, 5, 3])
    s = 1 / math.sqrt(d)
    expected = 0.0
    for row in range(b):
        top = max(math.exp(s * float(table[targets[row]] @ phi[row, j])) for j in range(k))
        below = sum(math.exp(s * float(table[i] @ phi[row, j])) for i in range(1, n + 1) for j in range(k))
        expected += -math.log(top / below) / b
    assert float(disentangled_seq2item_catalogue(phi, table, targets)) == pytest.approx(expected, rel=1e-12)


def test_catalogue_seq2item_makes_intentions_compete() -> None:
    # two identical intentions double every denominator term but not the max on top: log 2 more
    torch.manual_seed(1)
    one = torch.randn(2, 1, 4, dtype=torch.float64)
    table = torch.randn(7, 4, dtype=torch.float64)
    targets = torch.tensor([2, 6])
    single = disentangled_seq2item_catalogue(one, table, targets)
    doubled = disentangled_seq2item_catalogue(one.repeat(1, 2, 1), table, targets)
    assert float(doubled - single) == pytest.approx(math.log(2), rel=1e-12)
    with pytest.raises(ValueError, match="targets"):
        disentangled_seq2item_catalogue(one, table, torch.tensor([1]))
