"""The length of every user's training sequence under a split (what "head" sequences are ranked by)."""

from __future__ import annotations

from typing import Any

import numpy as np

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


__all__ = ["training_lengths"]
