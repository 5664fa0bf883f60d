"""The evaluation protocols as a registry: how each one splits data and evaluates a model.

``"loo"`` (leave-one-out with full ranking) and ``"user"`` (the ComiRec user split
with per-interest retrieval); :data:`PROTOCOLS` maps each name to a
:class:`ProtocolSpec`. Used by the experiment runner and by run loading alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.models.base import SequentialRecommender


@dataclass(frozen=True)
class ProtocolSpec:
    """How a protocol splits data and evaluates a model.

    Attributes:
        build_split: ``(dataset, max_len, **split_options) -> split`` with
            ``num_train_rows``, ``train_batch(rows)`` and ``train_item_counts()``.
        evaluate: ``(model, split, which, *, batch_size, mask_history, device, shard,
            **eval_options) -> metrics``.
        split_options / eval_options: the ``protocol_options`` keys each accepts.
        default_metric: the validation metric that selects the best epoch unless
            ``train.metric`` names another.
        metrics: the metric names the evaluator produces for given options.
        sizes: training rows and evaluated users of a split (an experiment with none
            is refused before training).
    """

    build_split: Callable[..., Any]
    evaluate: Callable[..., dict[str, Any]]
    split_options: tuple[str, ...] = ()
    eval_options: tuple[str, ...] = ()
    default_metric: str = "NDCG@10"
    #: ``(protocol_options) -> metric names the evaluator produces``
    metrics: Callable[[Mapping[str, Any]], tuple[str, ...]] = lambda options: ()
    #: ``(split) -> {"train": rows, "valid": users, "test": users}``
    sizes: Callable[[Any], dict[str, int]] = lambda split: {}


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


#: protocol name -> how to split and evaluate; add an entry to plug in another protocol
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


PROTOCOLS: dict[str, ProtocolSpec] = {
    "loo": ProtocolSpec(_loo_split, _loo_evaluate, eval_options=("ks",), default_metric="NDCG@10",
                        metrics=_loo_metrics, sizes=_loo_sizes),
    "user": ProtocolSpec(_user_split, _user_evaluate,
                         split_options=("seed", "ratios", "history_fraction", "max_windows"),
                         eval_options=("ns", "backend", "block_size"), default_metric="Recall@20",
                         metrics=_user_metrics, sizes=_user_sizes),
}

_NEEDS = {"loo": "at least 3 interactions (training items, a validation and a test target)",
          "user": "at least 2 interactions in each of the train, valid and test user groups"}


def resolve_protocol(name: str) -> ProtocolSpec:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; valid protocols: {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]


def build_split(name: str, dataset: SequenceDataset, max_len: int, options: Mapping[str, Any]) -> Any:
    """The split of protocol ``name`` for ``dataset`` (``options``: its ``protocol_options``)."""
    spec = resolve_protocol(name)
    return spec.build_split(dataset, max_len, **{k: v for k, v in options.items() if k in spec.split_options})


def check_metric(name: str, metric: str, options: Mapping[str, Any]) -> None:
    """Refuse a selection ``metric`` that protocol ``name`` does not produce."""
    offered = resolve_protocol(name).metrics(options)
    if offered and metric not in offered:
        raise ValueError(f"train.metric = {metric!r} is not produced under protocol {name!r}; "
                         f"it produces {list(offered)}")


def check_split(name: str, split: Any, data: str = "the dataset") -> None:
    """Refuse a split with no training row or no evaluated user, before any training."""
    sizes = resolve_protocol(name).sizes(split)
    empty = [part for part, size in sizes.items() if size == 0]
    if empty:
        raise ValueError(f"{data}: protocol {name!r} leaves no {' and no '.join(empty)} rows "
                         f"({sizes}); it needs users with {_NEEDS.get(name, 'enough interactions')}")


def eval_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation keywords of protocol ``name`` among ``options``."""
    spec = resolve_protocol(name)
    return {k: v for k, v in options.items() if k in spec.eval_options}


__all__ = ["PROTOCOLS", "ProtocolSpec", "build_split", "check_metric", "check_split", "eval_options",
           "resolve_protocol"]
