"""Leave-one-out metrics of head and tail users (S4Rec's long-tail analysis).

S4Rec (Wei et al., WWW 2024, §4.3 / Eq. 13 and §5.1.1) calls a user's training
sequence *head* when it is among the longest :math:`\\rho = 20\\,\\%` of all training
sequences, *tail* otherwise (:func:`graphrec.data.lengths.head_flags`, on the
lengths of :func:`training_lengths`: ``s[:-2]`` under leave-one-out, 0 for users
without a training row — the labels of S4Rec's adversary). The test metrics of each group
are means over its evaluated users of the per-user terms
(:mod:`graphrec.eval.ranks`):

.. math::
    M_{head} = \\frac{1}{|H|}\\sum_{u \\in H} m(\\mathrm{rank}_u), \\qquad
    M_{tail} = \\frac{1}{|T|}\\sum_{u \\in T} m(\\mathrm{rank}_u),

with :math:`H` the evaluated head users and :math:`T` the other evaluated users, so
:math:`(|H| M_{head} + |T| M_{tail}) / (|H| + |T|)` is the overall metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphrec.data.lengths import head_flags, training_lengths
from graphrec.eval.metrics import DEFAULT_KS
from graphrec.eval.ranks import check_ranks, metrics_from_ranks

#: S4Rec's share of the longest training sequences labelled head
HEAD_RATIO = 0.2


def head_users(split: Any, head_ratio: float = HEAD_RATIO) -> np.ndarray:
    """``(U,)`` bool over all users of the split's dataset: True for head training sequences.

    Args:
        split: a :class:`~graphrec.data.loo.LeaveOneOutSplit` (or a user split).
        head_ratio: :math:`\\rho` (default 0.2).
    """
    return head_flags(training_lengths(split), head_ratio).numpy()


def metrics_by_group(ranks: np.ndarray, users: np.ndarray, head: np.ndarray,
                     ks: Sequence[int] = DEFAULT_KS, head_ratio: float = HEAD_RATIO) -> dict[str, Any]:
    """Metrics over the head users and over the tail users among ``users``.

    Args:
        ranks: ``(R,)`` 1-based ranks of the target of ``users``.
        users: ``(R,)`` user ids (e.g. ``split.eval_users``).
        head: ``(U,)`` bool head flag of every user (:func:`head_users`).
        ks: cut-offs.
        head_ratio: the :math:`\\rho` that defined ``head`` (recorded).

    Returns:
        ``{"head": metrics, "tail": metrics, "head_ratio": rho, "head_share": |H| / R}``;
        each group's metrics as :func:`~graphrec.eval.ranks.metrics_from_ranks` (with
        ``num_users``; NaN metrics for an empty group).
    """
    values = check_ranks(ranks)
    ids = np.asarray(users, dtype=np.int64)
    if ids.shape != values.shape:
        raise ValueError(f"users {ids.shape} and ranks {values.shape} must have the same shape")
    is_head = np.asarray(head, dtype=bool)[ids]  # (R,)
    return {
        "head": metrics_from_ranks(values[is_head], ks),
        "tail": metrics_from_ranks(values[~is_head], ks),
        "head_ratio": float(head_ratio),
        "head_share": float(is_head.mean()) if len(is_head) else float("nan"),
    }


__all__ = ["HEAD_RATIO", "head_users", "metrics_by_group", "training_lengths"]
