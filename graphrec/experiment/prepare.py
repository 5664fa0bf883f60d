"""From an experiment config to what trains: the data, the protocol, its split and the model.

:func:`prepare` is the one path both training (:mod:`graphrec.experiment.runner`) and
loading a finished run (:mod:`graphrec.experiment.runs`) take, so a loaded model sees
exactly the split and the model context it was trained with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.experiment.config import ExperimentConfig, build_model, load_data
from graphrec.experiment.protocols import EvaluationProtocol, resolve_protocol
from graphrec.models.base import SequentialRecommender
from graphrec.train.seed import seed_everything


@dataclass
class Prepared:
    """One run's data, protocol, split and freshly built model."""

    dataset: SequenceDataset
    protocol: EvaluationProtocol
    split: Any
    model: SequentialRecommender
    #: seconds spent loading the data and building the split
    load_seconds: float


def prepare(cfg: ExperimentConfig, device: torch.device, dataset: SequenceDataset | None = None,
            seed: int | None = None, protocol: EvaluationProtocol | None = None) -> Prepared:
    """Load ``cfg.data`` (unless ``dataset`` is given), build the protocol's split and the model.

    Args:
        cfg: the experiment.
        device: where the model's tensors go.
        dataset: use this dataset instead of loading ``cfg.data``.
        seed: seed every RNG with it just before the model is built (training); ``None``
            leaves the RNGs alone (loading weights into the model anyway).
        protocol: ``cfg.protocol`` already resolved (else it is resolved here).

    Raises:
        ValueError: when the split leaves no training row or no evaluated user.
    """
    protocol = protocol if protocol is not None else resolve_protocol(cfg.protocol)
    start = time.perf_counter()
    data = dataset if dataset is not None else load_data(cfg)
    split = protocol.build_split(data, cfg.train.max_len, cfg.protocol_options)
    protocol.check_split(split, cfg.data)
    load_seconds = time.perf_counter() - start
    if seed is not None:
        seed_everything(seed)
    model = build_model(cfg, split, device)
    return Prepared(data, protocol, split, model, load_seconds)


__all__ = ["Prepared", "prepare"]
