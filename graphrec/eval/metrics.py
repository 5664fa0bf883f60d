"""Full-ranking metrics from target ranks: HR@k, NDCG@k and MRR.

Every metric of the leave-one-out protocol depends on one number per user, the
0-based rank of the held-out target among all items (padding excluded):

.. math::

    r_u = \\#\\{i \\ne t_u : s_{u,i} > s_{u,t_u}\\} + \\#\\{i \\ne t_u : s_{u,i} = s_{u,t_u}\\}

Ties count *against* the target, so a model that scores every item equally gets
the worst rank, not the best. Then

.. math::

    \\mathrm{HR@k} = [r_u < k], \\quad
    \\mathrm{NDCG@k} = \\frac{[r_u < k]}{\\log_2(r_u + 2)}, \\quad
    \\mathrm{MRR} = \\frac{1}{r_u + 1}.

Counting ranks is equivalent to taking a top-k list and looking for the target in
it (the target is in the top-k iff :math:`r_u < k`, at position :math:`r_u`), but it
is cheaper — one comparison pass, :math:`O(N)` per user instead of a partial sort —
and it is exact under ties, whereas ``torch.topk`` breaks ties in an unspecified
order. One rank per user also serves every ``k`` at once.

:func:`rank_metrics` returns *sums* (and the count) so that results from several
blocks of users, or from several processes, are added first and divided exactly
once (:func:`finalize_metrics`).

References: He et al., "Neural Collaborative Filtering", WWW 2017 (HR/NDCG for
leave-one-out); Zhou et al., "S3-Rec", CIKM 2020 (full-ranking LOO protocol).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import torch
from torch import Tensor

DEFAULT_KS: tuple[int, ...] = (5, 10, 20)

_METRIC_NAME = re.compile(r"^(HR|NDCG)@(\d+)$|^MRR$")


def target_ranks(scores: Tensor, targets: Tensor) -> Tensor:
    """0-based rank of each target among all real items, ties counted against it.

    Args:
        scores: ``(B, N + 1)`` scores; column 0 (padding) is ignored whatever it holds.
        targets: ``(B,)`` target item ids in ``1..N``.

    Returns:
        ``(B,)`` int64 ranks in ``0..N-1``.

    Raises:
        ValueError: if any score is NaN (a NaN would compare false with everything and
            silently give the target rank 0), if shapes disagree, or if a target is
            padding or out of range.
    """
    if scores.dim() != 2:
        raise ValueError(f"scores must be (B, N + 1), got shape {tuple(scores.shape)}")
    if targets.dim() != 1 or targets.shape[0] != scores.shape[0]:
        raise ValueError(
            f"targets must be (B,) with B = {scores.shape[0]}, got shape {tuple(targets.shape)}"
        )
    num_cols = scores.shape[1]
    if targets.numel() and (int(targets.min()) < 1 or int(targets.max()) >= num_cols):
        raise ValueError(f"targets must be item ids in 1..{num_cols - 1} (0 is padding)")
    real = scores[:, 1:]  # (B, N) padding column excluded
    if torch.isnan(real).any():
        bad = torch.isnan(real).any(dim=1).nonzero().flatten()[:5].tolist()
        raise ValueError(
            f"NaN scores in rows {bad} of the batch; refusing to rank (a NaN score compares false "
            "with everything and would report near-perfect metrics). Check the model for NaN "
            "outputs, e.g. fully padded attention rows."
        )
    target_scores = real.gather(1, (targets - 1).unsqueeze(1))  # (B, 1)
    greater = (real > target_scores).sum(dim=1)  # (B,)
    equal = (real == target_scores).sum(dim=1) - 1  # (B,) other items tied with the target
    return greater + equal


def metric_names(ks: Sequence[int] = DEFAULT_KS) -> list[str]:
    """The metric keys produced for ``ks``: ``HR@k``, ``NDCG@k`` for each k, then ``MRR``."""
    return [f"{m}@{k}" for m in ("HR", "NDCG") for k in ks] + ["MRR"]


def is_metric_name(name: str) -> bool:
    """Whether ``name`` is ``HR@k``, ``NDCG@k`` or ``MRR``."""
    return bool(_METRIC_NAME.match(name))


def rank_metrics(ranks: Tensor, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Sums of HR@k, NDCG@k and MRR over the given ranks, plus ``count``.

    Args:
        ranks: ``(B,)`` 0-based ranks from :func:`target_ranks`.
        ks: cut-offs.

    Returns:
        ``{"HR@k": sum, "NDCG@k": sum, ..., "MRR": sum, "count": B}`` as Python
        floats (accumulated in float64); divide with :func:`finalize_metrics`.
    """
    r = ranks.detach().to(torch.float64).flatten()  # (B,)
    out: dict[str, float] = {}
    gain = 1.0 / torch.log2(r + 2.0)  # (B,)
    for k in ks:
        out[f"HR@{k}"] = float((r < k).sum())
    for k in ks:
        out[f"NDCG@{k}"] = float(torch.where(r < k, gain, torch.zeros_like(gain)).sum())
    out["MRR"] = float((1.0 / (r + 1.0)).sum())
    out["count"] = float(r.numel())
    return out


def add_metric_sums(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """Element-wise sum of two metric-sum dicts (keys must match).

    Serves every protocol's sums (:func:`rank_metrics`,
    :func:`graphrec.eval.user_protocol.list_metric_sums`), from blocks of users or ranks.
    """
    if set(a) != set(b):
        raise ValueError(f"cannot add metric sums with different keys: {sorted(a)} vs {sorted(b)}")
    return {key: float(a[key]) + float(b[key]) for key in a}


def sum_metric_sums(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Sum of many :func:`rank_metrics` results (empty input -> ``{}``)."""
    total: dict[str, float] = {}
    for part in parts:
        total = dict(part) if not total else add_metric_sums(total, part)
    return total


def finalize_metrics(sums: Mapping[str, float]) -> dict[str, float]:
    """Divide the sums by ``count`` once; an empty count gives NaN metrics."""
    count = float(sums["count"])
    return {
        key: (float(value) / count if count > 0 else math.nan)
        for key, value in sums.items()
        if key != "count"
    }


__all__ = [
    "DEFAULT_KS",
    "add_metric_sums",
    "finalize_metrics",
    "is_metric_name",
    "metric_names",
    "rank_metrics",
    "sum_metric_sums",
    "target_ranks",
]
