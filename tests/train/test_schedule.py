"""Learning-rate schedules against closed forms."""

from __future__ import annotations

import math

import pytest

from graphrec.train.schedule import lr_factor


def test_constant_with_warmup() -> None:
    assert [lr_factor(t, 10, 4) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_linear_decay() -> None:
    # warm-up 2 of 10 steps, then 1 - (t - 2) / 8
    assert lr_factor(2, 10, 2, "linear") == 1.0
    assert lr_factor(6, 10, 2, "linear") == pytest.approx(0.5)
    assert lr_factor(10, 10, 2, "linear") == 0.0
    assert lr_factor(50, 10, 2, "linear", min_factor=0.1) == 0.1


def test_cosine_decay() -> None:
    assert lr_factor(0, 8, 0, "cosine") == 1.0
    assert lr_factor(2, 8, 0, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(4, 8, 0, "cosine") == pytest.approx(0.5)
    assert lr_factor(8, 8, 0, "cosine") == pytest.approx(0.0)


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="cosine"):
        lr_factor(0, 10, 0, "exponential")
