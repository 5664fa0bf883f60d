"""The evaluation loop shared by both protocols: users in blocks, metric sums added up.

Either protocol (:mod:`graphrec.eval.loo`, :mod:`graphrec.eval.user_protocol`)
evaluates a model on rows of a split's held-out users in the same way: the model
in eval mode without gradients (its mode restored afterwards), the rows cut into
blocks of ``batch_size``, each block's batch built by the split and moved to the
device, turned into metric *sums* by the protocol, and the sums added block
after block. Only the per-block scoring differs. Sums from disjoint row sets add
up to the sums over their union, so blocks (and ranks, :mod:`graphrec.eval.sharded`)
merge exactly; timing and the final division happen once, in
:func:`graphrec.eval.sharded.evaluate_sharded`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from graphrec.eval.metrics import add_metric_sums

#: the per-block step: one batch (on the device) -> metric sums, including ``count``
BlockSums = Callable[[Any], dict[str, float]]


class EvalBatches(Protocol):
    """A split that builds evaluation batches for rows of its held-out users."""

    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> Any: ...


def check_eval_arguments(which: str, batch_size: int) -> None:
    """Raise ``ValueError`` unless ``which`` is "valid" or "test" and ``batch_size`` is positive."""
    if which not in ("valid", "test"):
        raise ValueError(f"which must be 'valid' or 'test', got {which!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")


def blocked_metric_sums(
    model: object,
    split: EvalBatches,
    which: str,
    rows: np.ndarray,
    batch_size: int,
    mask_history: bool,
    device: str | torch.device,
    start: Callable[[], BlockSums],
    empty: Callable[[], dict[str, float]],
) -> dict[str, float]:
    """Metric sums over ``rows`` of the held-out group ``which``, block by block.

    Args:
        model: the model; when it is an ``nn.Module`` it is put in eval mode and
            its train/eval mode restored afterwards.
        split: builds each block's batch (``eval_batch(which, rows, with_history)``).
        which: ``"valid"`` or ``"test"``.
        rows: ``(R,)`` rows of the group to evaluate.
        batch_size: rows per block.
        mask_history: ask the split for each row's full history (to mask it).
        device: where the batches go.
        start: called once, in eval mode without gradients, before the first block;
            returns the per-block step (one-time work, such as reading all item
            embeddings, goes here).
        empty: the sums (all zero, with every key) when there are no rows.

    Returns:
        The per-block sums added in block order (``empty()`` for no rows).
    """
    rows = np.asarray(rows, dtype=np.int64)
    module = model if isinstance(model, nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    total: dict[str, float] | None = None
    try:
        with torch.no_grad():
            block_sums = start()
            for begin in range(0, len(rows), batch_size):
                batch = split.eval_batch(which, rows[begin : begin + batch_size], with_history=mask_history)
                part = block_sums(batch.to(device))
                total = part if total is None else add_metric_sums(total, part)
    finally:
        if module is not None:
            module.train(was_training)
    return total if total is not None else empty()


__all__ = ["BlockSums", "EvalBatches", "blocked_metric_sums", "check_eval_arguments"]
