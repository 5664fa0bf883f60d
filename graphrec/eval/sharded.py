"""Evaluation sharded over ranks: each rank scores a disjoint slice of the users, sums merge once.

Per-user values (such as the leave-one-out ranks) computed on the strided slices
``rows[rank::world]`` are put back into row order by :func:`gather_strided`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphrec import distributed


def evaluate_sharded(
    rows: np.ndarray,
    metric_sums: Callable[[np.ndarray], dict[str, float]],
    finalize: Callable[[Mapping[str, float]], dict[str, float]],
    shard: bool,
    mask_history: bool,
) -> dict[str, Any]:
    """Run ``metric_sums`` on this rank's share of ``rows`` and merge the sums across ranks.

    Under ``torchrun`` with ``shard=True`` each rank takes ``rows[rank::world]`` and
    the sums (which must include ``count``) are all-reduced once, so every rank
    returns identical metrics; in a single process all rows are used.

    Returns:
        ``finalize(sums)`` plus ``num_users``, ``mask_history``, ``seconds`` (slowest
        rank) and ``users_per_s``.
    """
    info = distributed.current()
    local_rows = distributed.shard(np.asarray(rows), info) if shard else np.asarray(rows)
    start = time.perf_counter()
    sums = metric_sums(local_rows)
    merge = shard and info.is_distributed
    if merge:
        sums = distributed.all_reduce_sums(sums, info)
    seconds = time.perf_counter() - start
    if merge:
        seconds = distributed.all_reduce_max(seconds, info)
    result: dict[str, Any] = finalize(sums)
    result["num_users"] = int(sums["count"])
    result["mask_history"] = bool(mask_history)
    result["seconds"] = seconds
    result["users_per_s"] = sums["count"] / seconds if seconds > 0 else float("inf")
    return result


def interleave_strided(parts: Sequence[np.ndarray], total: int) -> np.ndarray:
    """Put strided slices back in order: ``out[r::W] = parts[r]`` for ``W = len(parts)``.

    The inverse of :func:`graphrec.distributed.shard` over all ranks: rank ``r`` of
    ``W`` held rows ``r, r + W, r + 2W, ...`` of ``total``.

    Args:
        parts: ``W`` 1-D arrays, ``parts[r]`` of length ``len(range(r, total, W))``.
        total: the number of rows.

    Returns:
        ``(total,)`` array of the parts' dtype.

    Raises:
        ValueError: if a part has the wrong length.
    """
    world = len(parts)
    if world == 0:
        raise ValueError("interleave_strided needs at least one part")
    for rank, part in enumerate(parts):
        expected = len(range(rank, total, world))
        if np.asarray(part).shape != (expected,):
            raise ValueError(f"part {rank} of {world} holds shape {np.asarray(part).shape}, expected "
                             f"({expected},) for {total} rows")
    out = np.empty(total, dtype=np.result_type(*[np.asarray(p) for p in parts]))
    for rank, part in enumerate(parts):  # one slice per rank, not per row
        out[rank::world] = part
    return out


def gather_strided(local: np.ndarray, total: int, shard: bool) -> np.ndarray:
    """This rank's per-row values of ``rows[rank::world]`` -> all ``total`` values in row order.

    Under ``torchrun`` with ``shard=True`` the slices of every rank are gathered
    (every rank must call it) and interleaved (:func:`interleave_strided`); alone,
    or without sharding, ``local`` already holds every row and is returned.
    """
    info = distributed.current()
    if not (shard and info.is_distributed):
        return np.asarray(local)
    return interleave_strided([np.asarray(p) for p in distributed.gather_objects(np.asarray(local), info)],
                              total)


__all__ = ["evaluate_sharded", "gather_strided", "interleave_strided"]
