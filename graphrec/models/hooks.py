"""What the trainer tells a model's lifecycle hooks.

The one :class:`~graphrec.train.trainer.Trainer` calls, on every model (no-ops by default):

=====================  ==================================================================
``on_fit_start``       once per ``fit``, before the first epoch — and, on ``--resume``,
                       *before* the checkpoint is restored (restored state wins)
``on_epoch_start``     at the start of every epoch, before its first batch
``training_batch``     on every global batch, before it is cut across ranks
``on_step_end``        after every optimizer step
``on_epoch_end``       after the last step of an epoch, before validation and before
                       ``last.pt`` is written (so what it stores is in the checkpoint)
=====================  ==================================================================

State a hook creates must live in the model's ``state_dict`` (parameters or
registered buffers of a fixed shape, created in ``__init__``): checkpoints save it
and ``--resume`` restores it, so an interrupted and resumed run equals an
uninterrupted one bit for bit. Randomness in a hook should come from
:meth:`TrainState.generator`, a ``torch.Generator`` seeded by ``(seed, epoch, step)``,
never from unseeded sources; a hook runs identically on every DDP rank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from graphrec.data.batch import SeqBatch

_MASK64 = (1 << 63) - 1


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64 over the parts; order matters).

    Different ``(seed, epoch, step)`` triples give unrelated streams, the same triple
    always the same one — on every rank and after a resume.
    """
    state = 0x9E3779B97F4A7C15
    for part in parts:
        state = (state ^ (int(part) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        state = z ^ (z >> 31)
    return state & _MASK64


@dataclass
class TrainState:
    """The trainer's position and helpers, passed to every hook.

    Attributes:
        seed: ``train.seed``.
        epoch: the current (1-based) epoch; 0 in ``on_fit_start``.
        step: optimizer steps taken in this run so far (over all epochs).
        epochs: ``train.epochs``.
        steps_per_epoch: global batches per epoch.
        device: where the model lives.
        rank / world_size: this process's place in a DDP job (0 / 1 alone).
        resumed: whether this fit continues from a checkpoint.
        train_sequences: ``(batch_size) -> iterator`` over *all* training rows in a
            fixed order as :class:`SeqBatch` on ``device``, with the model in eval mode
            and gradients off while iterating (e.g. k-means over every sequence's
            representation at the start of an epoch).
        record: the epoch's log record in ``on_epoch_end`` (losses, seconds); a hook may
            add JSON-able entries to it, which are logged.
    """

    seed: int
    epoch: int
    step: int
    epochs: int
    steps_per_epoch: int
    device: torch.device
    rank: int = 0
    world_size: int = 1
    resumed: bool = False
    train_sequences: Callable[[int], Iterator[SeqBatch]] | None = None
    record: dict[str, Any] = field(default_factory=dict)

    def generator(self, *salt: int) -> torch.Generator:
        """A CPU generator seeded by ``(seed, epoch, step, *salt)``."""
        return torch.Generator().manual_seed(mix_seed(self.seed, self.epoch, self.step, *salt))

    def iter_train_sequences(self, batch_size: int = 1024) -> Iterator[SeqBatch]:
        """See :attr:`train_sequences`."""
        if self.train_sequences is None:
            raise RuntimeError("this TrainState has no access to the training sequences")
        return self.train_sequences(batch_size)


__all__ = ["TrainState", "mix_seed"]
