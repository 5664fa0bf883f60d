"""Loading a finished run: its model, configuration, data and split, for evaluation and serving.

:func:`load_run` rebuilds what :func:`graphrec.experiment.runner.run_experiment`
trained from its checkpoint (``best.pt`` or ``last.pt``); :func:`evaluate_checkpoint`
re-evaluates it. Nothing here imports the trainer.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from graphrec import distributed
from graphrec.data.dataset import SequenceDataset
from graphrec.distributed import resolve_device
from graphrec.experiment.config import ExperimentConfig, load_data
from graphrec.experiment.prepare import prepare
from graphrec.experiment.protocols import resolve_protocol
from graphrec.models.base import SequentialRecommender
from graphrec.train.checkpoint import BEST, load_checkpoint


def find_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or ``best.pt`` inside a run / checkpoint directory."""
    ckpt_path = Path(path)
    if ckpt_path.is_dir():
        candidates = [ckpt_path / BEST, ckpt_path / "checkpoints" / BEST]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise FileNotFoundError(f"{ckpt_path}: no {BEST} here or in {ckpt_path / 'checkpoints'}")
        return found[0]
    if not ckpt_path.is_file():
        raise FileNotFoundError(f"{ckpt_path}: no such run directory or checkpoint file")
    return ckpt_path


@dataclass
class LoadedRun:
    """A trained model with the configuration, data and split it was trained on."""

    model: SequentialRecommender
    config: ExperimentConfig
    dataset: SequenceDataset
    split: Any
    device: torch.device
    checkpoint: Path
    epoch: int | None


def load_run(
    path: str | os.PathLike[str],
    data: str | SequenceDataset | None = None,
    device: str | None = None,
) -> LoadedRun:
    """Load the model of a run written by :func:`run_experiment` (``best.pt`` or ``last.pt``).

    Args:
        path: checkpoint file, or a run's output directory / checkpoint directory
            (then ``best.pt`` inside it is used).
        data: use this dataset (spec or object) instead of the run's; without it the
            run's data is loaded and its checksum must match the one trained on.
        device: where to put the model (default: the run's device when available, else CPU).
    """
    ckpt_path = find_checkpoint(path)
    state = load_checkpoint(ckpt_path)
    meta = state.get("metadata") or {}
    if "experiment" not in meta:
        raise ValueError(
            f"{ckpt_path}: checkpoint has no experiment metadata (not written by run_experiment)"
        )
    cfg = ExperimentConfig.from_dict(meta["experiment"])
    if isinstance(data, SequenceDataset):
        dataset = data
    elif data is not None:
        dataset = load_data(dataclasses.replace(cfg, data=str(data), data_options={}))
    else:
        dataset = load_data(cfg)
        if meta.get("data_checksum") and dataset.checksum() != meta["data_checksum"]:
            raise ValueError(
                f"{ckpt_path}: the run's data {cfg.data!r} now has checksum {dataset.checksum()}, but the "
                f"model was trained on {meta['data_checksum']}; pass data= explicitly to use it anyway"
            )
    if dataset.num_items != meta.get("num_items", dataset.num_items):
        raise ValueError(
            f"{ckpt_path}: model has {meta['num_items']} items, the dataset {dataset.num_items}"
        )
    wanted = device if device is not None else cfg.train.device
    if str(wanted).startswith("cuda") and not torch.cuda.is_available():
        wanted = "cpu"
    dev = resolve_device(wanted, distributed.current())
    prepared = prepare(cfg, dev, dataset)
    model = prepared.model
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    return LoadedRun(model, cfg, dataset, prepared.split, dev, ckpt_path, state.get("epoch"))


def evaluate_checkpoint(
    path: str | os.PathLike[str],
    which: str = "test",
    mask_history: bool | None = None,
    data: str | SequenceDataset | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    beyond_accuracy: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint written by :func:`run_experiment` (see :func:`load_run`).

    Args:
        path: checkpoint file or run directory.
        which: ``"valid"`` or ``"test"``.
        mask_history: mask history items (default: as in the run).
        data: evaluate on this dataset instead of the run's.
        batch_size: users per block (default: the run's ``eval_batch_size``).
        device: where to evaluate.
        beyond_accuracy: also compute novelty, category share and coverage of the
            recommended lists (:mod:`graphrec.eval.beyond_accuracy`), under
            ``"beyond_accuracy"``.

    Returns:
        The protocol's metrics plus ``checkpoint``, ``epoch``, ``which`` and ``data_checksum``.
    """
    run = load_run(path, data=data, device=device)
    cfg = run.config
    evaluation = resolve_protocol(cfg.protocol).evaluate(
        run.model, run.split, which, batch_size=batch_size or cfg.train.eval_batch_size,
        mask_history=cfg.mask_history_eval if mask_history is None else mask_history,
        device=run.device, options=cfg.protocol_options, beyond_accuracy=beyond_accuracy,
    )
    metrics = dict(evaluation.metrics)
    if evaluation.beyond is not None:
        metrics["beyond_accuracy"] = evaluation.beyond
    metrics.update({"checkpoint": str(run.checkpoint), "epoch": run.epoch, "which": which,
                    "data_checksum": run.dataset.checksum()})
    return metrics


__all__ = ["LoadedRun", "evaluate_checkpoint", "find_checkpoint", "load_run"]
