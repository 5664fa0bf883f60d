"""Leave-one-out metrics from per-user target ranks, and the ranks' files beside a result.

:func:`graphrec.eval.loo.evaluate_loo` with ``return_ranks=True`` gives every
evaluated user's **1-based** rank of the held-out target (ties counted against the
target). Every leave-one-out metric is a mean over users of a function of that rank:

.. math::

    \\mathrm{HR@k}_u = [\\mathrm{rank}_u \\le k], \\quad
    \\mathrm{NDCG@k}_u = \\frac{[\\mathrm{rank}_u \\le k]}{\\log_2(\\mathrm{rank}_u + 1)}, \\quad
    \\mathrm{MRR}_u = \\frac{1}{\\mathrm{rank}_u}

— :func:`graphrec.eval.metrics.rank_metrics` with its 0-based :math:`r_u = \\mathrm{rank}_u - 1`.
So metrics of any group of users (head / tail, :mod:`graphrec.eval.head_tail`) and
per-user differences between runs (:mod:`graphrec.experiment.compare`) come from the saved
ranks without scoring again. :func:`metrics_from_ranks` reuses ``rank_metrics`` and
``finalize_metrics``; over all users, summed in the evaluation's blocks, it gives
exactly the metrics ``evaluate_loo`` reported (the same float64 sums in the same order).

Ranks are stored as ``.npy`` (int32, no pickle), written atomically (:func:`save_ranks`).
Under the user split a user has several targets and no single rank; there every
evaluated user's own metric values are stored instead (:func:`save_user_values`: a
float64 ``(U, M)`` matrix whose column means are the metrics, the ``M`` names in
``result.json``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphrec.atomic import atomic_open
from graphrec.data.errors import first_reason
from graphrec.eval.metrics import DEFAULT_KS, add_metric_sums, finalize_metrics, is_metric_name, rank_metrics


def check_ranks(ranks: np.ndarray) -> np.ndarray:
    """``ranks`` as a 1-D int64 array of 1-based ranks; ``ValueError`` otherwise."""
    values = np.asarray(ranks)
    if values.ndim != 1:
        raise ValueError(f"ranks must be 1-D, got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"ranks must be integers, got dtype {values.dtype}")
    values = values.astype(np.int64, copy=False)
    if values.size and int(values.min()) < 1:
        raise ValueError(f"ranks are 1-based, got a rank {int(values.min())}")
    return values


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS,
                       block_size: int | None = None) -> dict[str, Any]:
    """HR@k, NDCG@k and MRR means over 1-based ranks, plus ``num_users``.

    The sums are :func:`~graphrec.eval.metrics.rank_metrics` of ``ranks - 1`` over
    consecutive blocks of ``block_size`` users (default: one block), added block by
    block and divided once (:func:`~graphrec.eval.metrics.finalize_metrics`) — the
    evaluation's own arithmetic, so with its ``batch_size`` the values are bit-identical
    to what :func:`~graphrec.eval.loo.evaluate_loo` reported in one process (any block
    size gives them up to float64 rounding; ``HR`` always exactly). No users: NaN metrics.

    Args:
        ranks: ``(U,)`` 1-based ranks.
        ks: cut-offs.
        block_size: users per summation block (default: all at once).

    Returns:
        ``{"HR@k", "NDCG@k", ..., "MRR"}`` means and ``num_users``.
    """
    if block_size is not None and block_size <= 0:
        raise ValueError(f"block_size must be positive, got {block_size}")
    values = torch.from_numpy(check_ranks(ranks) - 1)  # (U,) 0-based r_u
    step = block_size or max(len(values), 1)
    sums: dict[str, float] | None = None
    for begin in range(0, len(values), step):
        part = rank_metrics(values[begin : begin + step], ks)
        sums = part if sums is None else add_metric_sums(sums, part)
    out: dict[str, Any] = finalize_metrics(sums if sums is not None else rank_metrics(values, ks))
    out["num_users"] = len(values)
    return out


def metric_values(ranks: np.ndarray, name: str) -> np.ndarray:
    """``(U,)`` float64 per-user value of metric ``name`` (``HR@k``, ``NDCG@k`` or ``MRR``).

    The per-user terms of :func:`~graphrec.eval.metrics.rank_metrics`, so their mean is
    the metric: ``[rank <= k]``, ``[rank <= k] / log2(rank + 1)``, ``1 / rank``.
    """
    if not is_metric_name(name):
        raise ValueError(f"unknown metric {name!r}; expected HR@k, NDCG@k or MRR")
    r = torch.from_numpy(check_ranks(ranks)).to(torch.float64) - 1.0  # (U,) 0-based, as rank_metrics
    if name == "MRR":
        values = 1.0 / (r + 1.0)
    else:
        kind, k_text = name.split("@")
        k = int(k_text)
        if kind == "HR":
            values = (r < k).to(torch.float64)
        else:
            gain = 1.0 / torch.log2(r + 2.0)  # (U,)
            values = torch.where(r < k, gain, torch.zeros_like(gain))
    return values.numpy()


def save_ranks(path: str | os.PathLike[str], values: np.ndarray, dtype: type = np.int32) -> Path:
    """Write ``values`` to ``path`` as ``.npy`` of ``dtype`` atomically (refusing values that overflow it)."""
    array = np.asarray(values)
    info = np.iinfo(dtype)
    if array.size and (int(array.min()) < info.min or int(array.max()) > info.max):
        raise ValueError(f"{path}: values out of the range of {np.dtype(dtype).name}")
    with atomic_open(path, "wb") as fh:
        np.save(fh, array.astype(dtype), allow_pickle=False)
    return Path(path)


def _load_array(path: str | os.PathLike[str]) -> np.ndarray:
    """``np.load`` without pickles; a file that is not a plain ``.npy`` array is named with the reason."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({first_reason(exc)})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path}: not a .npy array (an archive of {len(array.files)} arrays)")
    return array


def load_ranks(path: str | os.PathLike[str]) -> np.ndarray:
    """A 1-D integer array written by :func:`save_ranks` (``allow_pickle=False``), as int64."""
    array = _load_array(path)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{path}: expected a 1-D integer array, got {array.dtype} of shape {array.shape}")
    return array.astype(np.int64)


def save_user_values(path: str | os.PathLike[str], values: np.ndarray) -> Path:
    """Write a ``(U, M)`` matrix of per-user metric values as float64 ``.npy`` atomically."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{path}: per-user values must be a (users, metrics) matrix, "
                         f"got shape {array.shape}")
    with atomic_open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    return Path(path)


def load_user_values(path: str | os.PathLike[str], num_metrics: int) -> np.ndarray:
    """The ``(U, num_metrics)`` float64 matrix written by :func:`save_user_values` (no pickle)."""
    array = _load_array(path)
    if array.ndim != 2 or array.shape[1] != num_metrics or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path}: expected a float (users, {num_metrics}) matrix, got {array.dtype} "
                         f"of shape {array.shape}")
    return array.astype(np.float64)


__all__ = ["check_ranks", "load_ranks", "load_user_values", "metric_values", "metrics_from_ranks",
           "save_ranks", "save_user_values"]
