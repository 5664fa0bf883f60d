"""Every user's training-sequence length under a split, and which sequences are *head* (the longest)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from graphrec.data.loo import loo_train_ends


def training_lengths(split: Any) -> np.ndarray:
    """``(U,)`` length of every user's training sequence; 0 for users without a training row.

    Leave-one-out: ``s[:-2]`` (:func:`graphrec.data.loo.loo_train_ends`; all of ``s`` for
    users too short to be evaluated); user split: the whole sequence of the training users.

    Args:
        split: a :class:`~graphrec.data.loo.LeaveOneOutSplit` or
            :class:`~graphrec.data.user_split.UserSplit`.
    """
    from graphrec.data.user_split import UserSplit

    indptr = np.asarray(split.dataset.indptr, dtype=np.int64)
    if isinstance(split, UserSplit):
        length = np.diff(indptr)  # (U,)
    else:
        length = loo_train_ends(indptr) - indptr[:-1]  # (U,)
    lengths = np.zeros(len(indptr) - 1, dtype=np.int64)
    users = np.unique(np.asarray(split.train_users, dtype=np.int64))
    lengths[users] = length[users]
    return lengths


def head_flags(lengths: npt.ArrayLike, head_ratio: float = 0.2) -> Tensor:
    """Which sequences are *head* sequences: the longest ``head_ratio`` of them (S4Rec §5.1.1).

    Sequences of length 0 (users without training rows) are not counted and are
    never head. Let ``n`` be the number of sequences of positive length and
    ``t`` the length of the :math:`\\lceil \\rho n \\rceil`-th longest: every sequence of
    length ``>= t`` is head, so sequences of equal length always share a label and
    the head share is at least :math:`\\rho` (ties at ``t`` included; 22.9 % on
    Amazon Beauty's leave-one-out training sequences for :math:`\\rho = 0.2`).

    Args:
        lengths: ``(U,)`` training-sequence length of every user (0 = no training row).
        head_ratio: :math:`\\rho \\in [0, 1]` (default 0.2; 0 marks no sequence head).

    Returns:
        ``(U,)`` bool tensor, True for head sequences.
    """
    if not 0.0 <= head_ratio <= 1.0:
        raise ValueError(f"head_ratio must lie in [0, 1], got {head_ratio}")
    values = np.asarray(lengths, dtype=np.int64)  # (U,)
    if values.ndim != 1:
        raise ValueError(f"lengths must be 1-D, got shape {values.shape}")
    real = np.sort(values[values > 0])[::-1]  # descending
    count = math.ceil(head_ratio * len(real) - 1e-9)  # 0.2 * 5 is 1.0000000000000002
    if count == 0:
        return torch.zeros(len(values), dtype=torch.bool)
    threshold = real[count - 1]
    return torch.from_numpy((values >= threshold) & (values > 0))


__all__ = ["head_flags", "training_lengths"]
