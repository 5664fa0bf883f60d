"""The evaluation loop shared by both protocols: blocks, sums, eval mode, empty rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from graphrec.eval.blocks import BlockSums, blocked_metric_sums, check_eval_arguments


@dataclass
class RowsBatch:
    rows: Tensor
    with_history: bool

    def to(self, device: str | torch.device) -> RowsBatch:
        return RowsBatch(self.rows.to(device), self.with_history)


class RowsSplit:
    """A split whose batch is just the requested rows."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int], bool]] = []

    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> RowsBatch:
        self.calls.append((which, rows.tolist(), with_history))
        return RowsBatch(torch.from_numpy(rows), with_history)


class Probe(nn.Module):
    """Records its mode and whether gradients are on whenever the loop calls into it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, bool]] = []

    def note(self) -> None:
        self.seen.append((self.training, torch.is_grad_enabled()))


def test_blocks_in_order_sums_added_mode_restored() -> None:
    model, split = Probe(), RowsSplit()
    model.train()
    starts: list[int] = []

    def start() -> BlockSums:
        model.note()
        starts.append(1)

        def block_sums(batch: RowsBatch) -> dict[str, float]:
            model.note()
            return {"sum": float(batch.rows.sum()), "count": float(len(batch.rows))}

        return block_sums

    sums = blocked_metric_sums(model, split, "test", np.array([5, 1, 2, 7, 3]), 2, True, "cpu",
                               start, lambda: {"sum": 0.0, "count": 0.0})
    assert sums == {"sum": 18.0, "count": 5.0}
    assert split.calls == [("test", [5, 1], True), ("test", [2, 7], True), ("test", [3], True)]
    assert starts == [1] and model.seen == [(False, False)] * 4  # eval mode, no gradients
    assert model.training  # restored


def test_no_rows_gives_the_empty_sums_and_errors_restore_the_mode() -> None:
    model, split = Probe(), RowsSplit()
    empty = {"sum": 0.0, "count": 0.0}
    assert blocked_metric_sums(model, split, "valid", np.zeros(0), 4, False, "cpu",
                               lambda: lambda batch: {}, lambda: empty) == empty
    assert split.calls == []

    def failing_start() -> BlockSums:
        raise ValueError("refusing to rank")

    with pytest.raises(ValueError, match="refusing"):
        blocked_metric_sums(model, split, "valid", np.arange(3), 4, False, "cpu",
                            failing_start, lambda: empty)
    assert model.training


def test_argument_checks() -> None:
    check_eval_arguments("valid", 1)
    with pytest.raises(ValueError, match="which must be 'valid' or 'test', got 'train'"):
        check_eval_arguments("train", 1)
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        check_eval_arguments("test", 0)
