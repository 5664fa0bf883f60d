"""Evaluation sharded over ranks: each rank scores a disjoint slice of the users, sums merge once."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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
