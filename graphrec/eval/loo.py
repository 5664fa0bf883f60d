"""Leave-one-out full-ranking evaluation (S3Rec / ICLRec / S4Rec / DSSRec protocol).

For every evaluated user the model scores **all** items given the user's input
window (``s[:-2]`` for validation, ``s[:-1]`` for test); the rank of the held-out
item (:func:`graphrec.eval.metrics.target_ranks`, ties against the target,
padding excluded) gives HR@{5,10,20}, NDCG@{5,10,20} and MRR. Users are processed
in blocks of ``batch_size`` so that memory stays at ``batch_size x (N + 1)`` scores.

History masking (off by default, always recorded with the result): with
``mask_history=True`` the scores of every item in the user's *full* earlier
history (not only the last ``max_len``) are set to :math:`-\\infty` before
ranking, so items already consumed never rank. The S3Rec-family code sets those
scores to ``0`` instead (which, when scores can be negative, may still rank them
above others). In both implementations a target that also appears earlier in the
history is masked together with it; here it then ranks last (every other item
scores above or ties with it), i.e. it counts as a miss. Masking moves NDCG@10 by
about 30 % on Beauty, so results must say which variant they used.

Reference: Zhou et al., "S3-Rec: Self-Supervised Learning for Sequential
Recommendation with Mutual Information Maximization", CIKM 2020.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.eval.beyond_accuracy import DEFAULT_BEYOND_NS, BeyondAccuracy
from graphrec.eval.blocks import blocked_metric_sums, check_eval_arguments
from graphrec.eval.metrics import DEFAULT_KS, finalize_metrics, rank_metrics, target_ranks
from graphrec.eval.sharded import evaluate_sharded, gather_strided


class LeaveOneOutEvaluable(Protocol):
    """What the evaluation needs from a split (``graphrec.data.loo.LeaveOneOutSplit``)."""

    @property
    def num_eval_rows(self) -> int: ...

    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> SeqBatch: ...


class Scorer(Protocol):
    """A model with ``score_all(batch) -> (B, N + 1)``."""

    def score_all(self, batch: SeqBatch) -> Tensor: ...


def mask_history_scores(scores: Tensor, history_indptr: Tensor, history_items: Tensor) -> Tensor:
    """Set ``scores[b, i] = -inf`` for every item ``i`` in row ``b``'s history, in place.

    Args:
        scores: ``(B, N + 1)`` float scores.
        history_indptr: ``(B + 1,)`` CSR offsets into ``history_items``.
        history_items: ``(nnz,)`` item ids.

    Returns:
        ``scores`` (modified in place; one scatter, no loop over users).
    """
    lengths = history_indptr[1:] - history_indptr[:-1]  # (B,)
    rows = torch.repeat_interleave(torch.arange(scores.shape[0], device=scores.device),
                                   lengths.to(scores.device))  # (nnz,)
    scores[rows, history_items.to(scores.device)] = float("-inf")
    return scores


def loo_metric_sums(
    model: Scorer,
    split: LeaveOneOutEvaluable,
    which: str = "valid",
    rows: np.ndarray | None = None,
    batch_size: int = 1024,
    mask_history: bool = False,
    device: str | torch.device = "cpu",
    ks: Sequence[int] = DEFAULT_KS,
    ranks_out: list[Tensor] | None = None,
    beyond_out: BeyondAccuracy | None = None,
) -> dict[str, float]:
    """Metric *sums* (and ``count``) over ``rows`` of the split's evaluated users.

    Mergeable: sums from disjoint row sets add up (:func:`~graphrec.eval.metrics.add_metric_sums`)
    to the sums over their union. The model's train/eval mode is restored afterwards.

    Args:
        ranks_out: when given, every block's ``(B,)`` 0-based target ranks
            (:func:`~graphrec.eval.metrics.target_ranks`, on the CPU) are appended to it,
            in row order; the sums are the same either way.
        beyond_out: when given, every block's top-``max(beyond_out.ns)`` items (after
            history masking) feed it (:mod:`graphrec.eval.beyond_accuracy`); the sums are
            the same either way.
    """
    check_eval_arguments(which, batch_size)
    if rows is None:
        rows = np.arange(split.num_eval_rows)

    def block_sums(batch: SeqBatch) -> dict[str, float]:
        scores = model.score_all(batch).float()  # (B, N + 1)
        if mask_history:
            assert batch.history_indptr is not None and batch.history_items is not None
            mask_history_scores(scores, batch.history_indptr, batch.history_items)
        if beyond_out is not None:
            top = min(max(beyond_out.ns), scores.shape[1] - 1)
            beyond_out.update(torch.topk(scores, top, dim=1).indices)  # (B, top) top-N lists
        assert batch.targets is not None
        ranks = target_ranks(scores, batch.targets)  # (B,) 0-based
        if ranks_out is not None:
            ranks_out.append(ranks.cpu())
        return rank_metrics(ranks, ks)

    return blocked_metric_sums(
        model, split, which, rows, batch_size, mask_history, device,
        start=lambda: block_sums, empty=lambda: rank_metrics(torch.zeros(0, dtype=torch.int64), ks),
    )


def evaluate_loo(
    model: Scorer,
    split: LeaveOneOutEvaluable,
    which: str = "valid",
    batch_size: int = 1024,
    mask_history: bool = False,
    device: str | torch.device = "cpu",
    rows: np.ndarray | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    shard: bool = False,
    return_ranks: bool = False,
    beyond_accuracy: bool = False,
    beyond_ns: Sequence[int] = DEFAULT_BEYOND_NS,
) -> dict[str, Any]:
    """Leave-one-out metrics of ``model`` on the validation or test targets.

    Args:
        model: anything with ``score_all(batch) -> (B, N + 1)`` (column 0 = padding).
        split: a :class:`~graphrec.data.loo.LeaveOneOutSplit`.
        which: ``"valid"`` or ``"test"``.
        batch_size: users per scoring block.
        mask_history: set the scores of the user's earlier items to ``-inf``.
        device: where to score.
        rows: evaluate only these rows of ``split.eval_users`` (default: all).
        ks: cut-offs for HR/NDCG.
        shard: under ``torchrun``, each rank evaluates ``rows[rank::world]`` and the
            sums are all-reduced once, so every rank returns the same metrics
            (every rank must call it). Ignored in a single process.
        return_ranks: also return every evaluated user's rank of the target (``"ranks"``).
        beyond_accuracy: also compute Novelty@N, CategoryShare@N and Coverage@N of each
            user's top-N list (``N`` in ``beyond_ns``; a top-k of every block's scores, after
            history masking; :mod:`graphrec.eval.beyond_accuracy`), returned under
            ``"beyond_accuracy"`` (pop it to keep the rank metrics alone). Off by default:
            the other metrics and their speed are the same either way.
        beyond_ns: list lengths of ``beyond_accuracy`` (default 20 and 50).

    Returns:
        ``{"HR@5", ..., "NDCG@20", "MRR"}`` means, plus ``num_users``,
        ``mask_history``, ``seconds`` (slowest rank) and ``users_per_s``. With
        ``return_ranks`` also ``"ranks"``: an ``(R,)`` int64 array (not JSON; pop it
        before writing the metrics), the **1-based** rank of the target of each of
        ``rows``, in that order (by default the order of ``split.eval_users``), ties
        counted against the target,

        .. math::
            \\mathrm{rank}_u = 1 + \\#\\{i \\ne t_u : s_{u,i} \\ge s_{u,t_u}\\},

        so ``HR@k = mean(rank <= k)``, ``NDCG@k = mean([rank <= k] / log2(rank + 1))``,
        ``MRR = mean(1 / rank)`` (:mod:`graphrec.eval.ranks`). Under sharding every
        rank's slice is gathered back, so every rank returns all ``R`` ranks.
    """
    if rows is None:
        rows = np.arange(split.num_eval_rows)
    collected: list[Tensor] | None = [] if return_ranks else None
    beyond = _beyond_accumulator(split, beyond_ns) if beyond_accuracy else None
    metrics = evaluate_sharded(
        rows,
        lambda local: loo_metric_sums(model, split, which, local, batch_size, mask_history, device, ks,
                                      ranks_out=collected, beyond_out=beyond),
        finalize_metrics, shard, mask_history,
    )
    if beyond is not None:
        metrics["beyond_accuracy"] = beyond.result(shard)
    if collected is None:
        return metrics
    local = (torch.cat(collected) if collected else torch.zeros(0, dtype=torch.int64)).numpy()  # (R_local,)
    metrics["ranks"] = gather_strided(local.astype(np.int64) + 1, len(rows), shard)  # (R,) 1-based, row order
    return metrics


def _beyond_accumulator(split: Any, ns: Sequence[int]) -> BeyondAccuracy:
    """A :class:`BeyondAccuracy` with the split's training counts and its dataset's categories."""
    dataset: Any = getattr(split, "dataset", None)
    category = dataset.item_category if getattr(dataset, "has_categories", False) else None
    # a list cannot be longer than the catalogue: lengths beyond N are left out
    usable = [n for n in ns if n <= split.num_items] or [split.num_items]
    return BeyondAccuracy(split.train_item_counts(), category, usable)


def loo_evaluator(split: LeaveOneOutEvaluable, batch_size: int = 1024,
                  mask_history: bool = False) -> Callable[[Any, str], dict[str, Any]]:
    """A trainer's evaluator ``(model, which) -> metrics``: :func:`evaluate_loo` on ``split``.

    Scores on the model's device, sharded under ``torchrun``.
    """

    def evaluate(model: Any, which: str) -> dict[str, Any]:
        device = next(iter(model.parameters()), torch.empty(0)).device
        return evaluate_loo(model, split, which, batch_size=batch_size, mask_history=mask_history,
                            device=device, shard=True)

    return evaluate


__all__ = ["evaluate_loo", "loo_evaluator", "loo_metric_sums", "mask_history_scores"]
