"""Atomic checkpoints of a training run.

A checkpoint is one ``torch.save`` file. It is written to a temporary file in the
same directory, flushed and fsync'ed, then moved over the old file with
``os.replace`` (atomic on POSIX), so a crash during the write leaves the previous
checkpoint intact and loadable; the temporary file is removed on failure.

The trainer keeps two files in ``checkpoint_dir``:

* ``last.pt`` — everything needed to resume exactly: model and optimizer state
  (and AMP grad-scaler), the epoch just finished, best metric/epoch, the patience
  counter, the per-epoch history, the best weights so far, and the states of all
  random-number generators (Python, NumPy, torch CPU/CUDA, the shuffle generator),
  one per rank under DDP;
* ``best.pt`` — the best weights with the run's metadata, for evaluation/serving.

Checkpoints hold only tensors and plain Python values (dicts, lists, numbers,
strings) and are read with ``torch.load(weights_only=True)``: loading a checkpoint
someone shared cannot run code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from graphrec.atomic import atomic_open
from graphrec.data.errors import first_reason

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    target = Path(path)
    with atomic_open(target, "wb") as fh:
        torch.save(state, fh)
    return target


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: naming the path when it does not exist.
        ValueError: naming the path when the file is not a readable checkpoint.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no checkpoint at this path")
    try:
        # weights_only: tensors and plain containers only, so a crafted file cannot run code
        state = torch.load(source, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{source}: not a readable graphrec checkpoint ({first_reason(exc)})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{source}: not a graphrec checkpoint (top level is {type(state).__name__})")
    return state


__all__ = ["BEST", "LAST", "load_checkpoint", "save_checkpoint"]
