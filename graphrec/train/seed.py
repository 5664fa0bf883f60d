"""Deterministic seeding and capture/restore of every random-number generator.

A run is reproducible when its parameters, its shuffling and its dropout draw the
same random numbers. :func:`seed_everything` seeds Python's ``random``, NumPy's
legacy global generator and PyTorch (CPU and every CUDA device);
:func:`capture_rng_state` / :func:`restore_rng_state` snapshot and restore all of
them, so a run resumed from a checkpoint continues with exactly the random
numbers it would have drawn without the interruption.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed ``random``, ``numpy.random`` and ``torch`` (CPU + all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def capture_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Snapshot of the global RNG states (and of ``generator`` when given).

    Returns:
        A dict with ``python``, ``numpy``, ``torch`` (ByteTensor), ``cuda`` (list of
        ByteTensors, empty without CUDA) and ``generator`` (or ``None``); it can be
        stored with ``torch.save``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()  # type: ignore[misc]
    return {
        "python": random.getstate(),
        # plain types and tensors only: checkpoints load with torch.load(weights_only=True)
        "numpy": [str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generator": generator.get_state() if generator is not None else None,
    }


def restore_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore a snapshot from :func:`capture_rng_state` (and ``generator``'s state)."""
    random.setstate(_as_tuples(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.int64).astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    if generator is not None and state.get("generator") is not None:
        generator.set_state(state["generator"].cpu())


def _as_tuples(value: Any) -> Any:
    """Python's ``random`` state as tuples (it may come back from a checkpoint as lists)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything"]
