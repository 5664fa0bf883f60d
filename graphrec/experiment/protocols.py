"""The evaluation protocols as a registry: how each one splits data and evaluates a model.

``"loo"`` (leave-one-out with full ranking) and ``"user"`` (the ComiRec user split
with per-interest retrieval); :data:`PROTOCOLS` maps each name to an
:class:`EvaluationProtocol`, whose methods build the split, check the selection metric
and evaluate, every protocol returning one :class:`Evaluation`. Add an entry to plug in
another protocol. Used by the experiment runner and by run loading alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.models.base import SequentialRecommender


@dataclass
class Evaluation:
    """What every protocol's evaluation returns.

    Attributes:
        metrics: metric name -> value (plus ``users_per_s`` and the like).
        ranks: leave-one-out with ``per_user``: every evaluated user's 1-based rank, ``(U,)``.
        per_user: user split with ``per_user``: ``{"users": (U,), metric: (U,)}``.
        beyond: with ``beyond_accuracy``: novelty, category share and coverage of the top-N lists.
    """

    metrics: dict[str, Any]
    ranks: np.ndarray | None = None
    per_user: dict[str, np.ndarray] | None = None
    beyond: dict[str, float] | None = None


@dataclass(frozen=True)
class EvaluationProtocol:
    """How a protocol splits data and evaluates a model; resolved once per run.

    Attributes:
        name: the registry key (``"loo"``, ``"user"``).
        build: ``(dataset, max_len, **split_options) -> split`` with
            ``num_train_rows``, ``train_batch(rows)`` and ``train_item_counts()``.
        evaluator: ``(model, split, which, *, batch_size, mask_history, device, shard,
            beyond_accuracy, **eval_options) -> metrics``.
        split_options / eval_options: the ``protocol_options`` keys each accepts.
        default_metric: the validation metric that selects the best epoch unless
            ``train.metric`` names another.
        metrics: the metric names the evaluator produces for given options.
        sizes: training rows and evaluated users of a split (an experiment with none
            is refused before training).
        per_user_flag: the evaluator keyword that returns per-user outcomes.
        needs: what a user must have for the split to use it (for the error message).
    """

    name: str
    build: Callable[..., Any]
    evaluator: Callable[..., dict[str, Any]]
    split_options: tuple[str, ...] = ()
    eval_options: tuple[str, ...] = ()
    default_metric: str = "NDCG@10"
    #: ``(protocol_options) -> metric names the evaluator produces``
    metrics: Callable[[Mapping[str, Any]], tuple[str, ...]] = lambda options: ()
    #: ``(split) -> {"train": rows, "valid": users, "test": users}``
    sizes: Callable[[Any], dict[str, int]] = lambda split: {}
    per_user_flag: str = ""
    needs: str = "enough interactions"

    def build_split(self, dataset: SequenceDataset, max_len: int, options: Mapping[str, Any]) -> Any:
        """The split of ``dataset`` (``options``: the run's ``protocol_options``)."""
        return self.build(dataset, max_len, **{k: v for k, v in options.items() if k in self.split_options})

    def check_metric(self, metric: str, options: Mapping[str, Any]) -> None:
        """Refuse a selection ``metric`` that this protocol does not produce."""
        offered = self.metrics(options)
        if offered and metric not in offered:
            raise ValueError(f"train.metric = {metric!r} is not produced under protocol {self.name!r}; "
                             f"it produces {list(offered)}")

    def check_split(self, split: Any, data: str = "the dataset") -> None:
        """Refuse a split with no training row or no evaluated user, before any training."""
        sizes = self.sizes(split)
        empty = [part for part, size in sizes.items() if size == 0]
        if empty:
            raise ValueError(f"{data}: protocol {self.name!r} leaves no {' and no '.join(empty)} rows "
                             f"({sizes}); it needs users with {self.needs}")

    def evaluation_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The evaluation keywords of this protocol among ``options``."""
        return {k: v for k, v in options.items() if k in self.eval_options}

    def evaluate(self, model: SequentialRecommender, split: Any, which: str, *, batch_size: int,
                 mask_history: bool, device: torch.device, options: Mapping[str, Any],
                 per_user: bool = False, beyond_accuracy: bool = False) -> Evaluation:
        """Evaluate ``model`` on ``split``'s ``which`` part (sharded over a process group)."""
        extra: dict[str, Any] = {self.per_user_flag: True} if per_user and self.per_user_flag else {}
        if beyond_accuracy:
            extra["beyond_accuracy"] = True
        metrics = self.evaluator(model, split, which, batch_size=batch_size, mask_history=mask_history,
                                 device=device, shard=True, **extra, **self.evaluation_options(options))
        return Evaluation(metrics, ranks=metrics.pop("ranks", None), per_user=metrics.pop("per_user", None),
                          beyond=metrics.pop("beyond_accuracy", None))


def _loo_split(dataset: SequenceDataset, max_len: int) -> Any:
    from graphrec.data.loo import LeaveOneOutSplit

    return LeaveOneOutSplit.build(dataset, max_len=max_len)


def _loo_evaluate(model: SequentialRecommender, split: Any, which: str, *, batch_size: int,
                  mask_history: bool, device: torch.device, shard: bool, **options: Any) -> dict[str, Any]:
    from graphrec.eval.loo import evaluate_loo

    return evaluate_loo(model, split, which, batch_size=batch_size, mask_history=mask_history,
                        device=device, shard=shard, **options)


def _user_split(dataset: SequenceDataset, max_len: int, **options: Any) -> Any:
    from graphrec.data.user_split import UserSplit

    return UserSplit.build(dataset, max_len=max_len, **options)


def _user_evaluate(model: SequentialRecommender, split: Any, which: str, *, batch_size: int,
                   mask_history: bool, device: torch.device, shard: bool, **options: Any) -> dict[str, Any]:
    from graphrec.eval.user_protocol import evaluate_user_split

    return evaluate_user_split(model, split, which, batch_size=batch_size, mask_history=mask_history,
                               device=device, shard=shard, **options)


def _loo_metrics(options: Mapping[str, Any]) -> tuple[str, ...]:
    from graphrec.eval.metrics import DEFAULT_KS

    ks = options.get("ks") or DEFAULT_KS
    return tuple(f"{m}@{k}" for m in ("HR", "NDCG") for k in ks) + ("MRR",)


def _user_metrics(options: Mapping[str, Any]) -> tuple[str, ...]:
    from graphrec.eval.user_protocol import DEFAULT_NS

    ns = options.get("ns") or DEFAULT_NS
    return tuple(f"{m}@{n}" for m in ("Recall", "HR", "NDCG", "NDCG_comirec") for n in ns)


def _loo_sizes(split: Any) -> dict[str, int]:
    return {"train": int(split.num_train_rows), "valid": int(split.num_eval_rows),
            "test": int(split.num_eval_rows)}


def _user_sizes(split: Any) -> dict[str, int]:
    return {"train": int(split.num_train_rows), "valid": int(split.valid.num_rows),
            "test": int(split.test.num_rows)}


PROTOCOLS: dict[str, EvaluationProtocol] = {
    "loo": EvaluationProtocol(
        "loo", _loo_split, _loo_evaluate, eval_options=("ks",), default_metric="NDCG@10",
        metrics=_loo_metrics, sizes=_loo_sizes, per_user_flag="return_ranks",
        needs="at least 3 interactions (training items, a validation and a test target)"),
    "user": EvaluationProtocol(
        "user", _user_split, _user_evaluate,
        split_options=("seed", "ratios", "history_fraction", "max_windows"),
        eval_options=("ns", "backend", "block_size"), default_metric="Recall@20",
        metrics=_user_metrics, sizes=_user_sizes, per_user_flag="return_values",
        needs="at least 2 interactions in each of the train, valid and test user groups"),
}


def resolve_protocol(name: str) -> EvaluationProtocol:
    """The registered protocol ``name``; unknown names raise listing the valid ones."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; valid protocols: {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]


__all__ = ["PROTOCOLS", "Evaluation", "EvaluationProtocol", "resolve_protocol"]
