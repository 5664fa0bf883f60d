"""The optimizer and the learning-rate schedule of a training run, from its :class:`TrainConfig`."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from graphrec.train.config import TrainConfig
from graphrec.train.lazy_adam import LazyAdam
from graphrec.train.param_groups import build_param_groups
from graphrec.train.schedule import lr_factor

OPTIMIZER_CLASSES: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "lazy_adam": LazyAdam}


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``train.optimizer`` over the trainable parameters of ``model`` (or ``train.param_groups``).

    A model with sparse gradients (``sparse_gradients`` True, e.g. a multi-interest
    model with ``sparse_items``) needs :class:`~graphrec.train.lazy_adam.LazyAdam`:
    ``torch.optim.Adam``/``AdamW`` cannot step a sparse gradient. Under AMP the
    ``GradScaler`` unscales a sparse gradient through its values (coalescing float16
    ones first) and finds infinities there, so AMP needs no refusal.
    """
    if getattr(model, "sparse_gradients", False) and cfg.optimizer != "lazy_adam":
        raise ValueError(
            f"{type(model).__name__} gives sparse gradients (model.sparse_items=true), which "
            f"train.optimizer={cfg.optimizer!r} cannot step; set train.optimizer=lazy_adam "
            "(or model.sparse_items=false)"
        )
    cls = OPTIMIZER_CLASSES.get(cfg.optimizer, torch.optim.Adam)
    if not cfg.param_groups:
        params = [p for p in model.parameters() if p.requires_grad]
        return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    groups = build_param_groups(model, cfg.param_groups, cfg.lr, cfg.weight_decay)
    return cls(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                    num_train_rows: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step learning-rate factors :func:`~graphrec.train.schedule.lr_factor` over ``cfg.epochs``."""
    steps_per_epoch = math.ceil(num_train_rows / cfg.batch_size)
    total = max(cfg.epochs * steps_per_epoch, 1)
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    lr_factor(0, total, warmup, cfg.lr_schedule)  # validates the schedule name
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup, cfg.lr_schedule))


__all__ = ["OPTIMIZER_CLASSES", "build_optimizer", "build_scheduler"]
