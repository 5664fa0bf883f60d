"""Training configuration: a frozen dataclass, YAML loading and ``key=value`` overrides.

Config lives only at the edge: YAML / command line -> plain dicts -> frozen
dataclasses. Unknown keys are an error that lists the valid keys and suggests the
closest one; values given as strings (``lr=1e-3``) are coerced to the field's type.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphrec.config import apply_overrides, check_keys, coerce, from_dict, load_yaml, parse_override
from graphrec.data.prefix_rows import TRAIN_SAMPLES
from graphrec.train.loss_weights import normalize_loss_weights
from graphrec.train.param_groups import check_param_groups
from graphrec.train.schedule import SCHEDULES

#: ``lazy_adam``: :class:`graphrec.train.lazy_adam.LazyAdam` (Adam; touched rows only for sparse gradients)
OPTIMIZERS = ("adam", "adamw", "lazy_adam")
#: validation metrics the evaluators produce (LOO: HR/NDCG/MRR; user split: Recall/HR/NDCG)
_METRIC = re.compile(r"^(HR|NDCG|NDCG_comirec|Recall)@\d+$|^MRR$")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the generic trainer (:class:`graphrec.train.trainer.Trainer`).

    Args:
        epochs: maximum number of passes over the training rows.
        batch_size: sequences per *global* step (split across ranks under DDP).
        lr: learning rate.
        lr_schedule: ``"constant"`` (default), ``"linear"`` or ``"cosine"`` decay over
            ``epochs`` (per optimisation step; :mod:`graphrec.train.schedule`).
        warmup_epochs: linear warm-up length in epochs (fractions allowed; default 0).
        weight_decay: L2 (Adam, LazyAdam) or decoupled (AdamW) weight decay; LazyAdam adds the
            L2 term to the rows a sparse gradient touches only (no decoupled decay there).
        optimizer: ``"adam"``, ``"adamw"`` or ``"lazy_adam"``
            (:class:`~graphrec.train.lazy_adam.LazyAdam`: Adam's update for dense gradients,
            only the touched rows for sparse ones). A model with sparse gradients
            (``sparse_gradients``, e.g. ``model.sparse_items=true`` of the multi-interest
            models) needs ``"lazy_adam"``.
        loss_weights: weight per loss-term name, a number or a schedule over epochs
            (:mod:`graphrec.train.loss_weights`: ``{weight, schedule: warmup|step, ...}``);
            a term the model returns without a weight here gets 1.0; a name here that
            the model never returns is an error.
        param_groups: optimizer parameter groups, first match wins, the rest use ``lr`` /
            ``weight_decay`` (:mod:`graphrec.train.param_groups`), e.g.
            ``[{params: "@embedding|@norm|@bias", weight_decay: 0}, {params: prototypes, lr: 0.01}]``.
        patience: evaluations without improvement before stopping (``<= 0``: never stop early).
        metric: validation metric for early stopping / best checkpoint (``HR@k``, ``NDCG@k``,
            ``MRR``; ``Recall@k`` under the user-split protocol); ``None`` (default): the
            protocol's own (``NDCG@10`` leave-one-out, ``Recall@20`` user split).
        eval_every: evaluate on validation every this many epochs (and after the last).
        eval_batch_size: users per scoring block at evaluation.
        seed: seeds parameters, shuffling and dropout; same seed -> same metrics.
        device: ``"auto"`` (default: CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        amp: mixed precision autocast (CUDA only; ignored on CPU).
        grad_clip: max gradient L2 norm (``0`` = no clipping); sparse gradients are coalesced
            and count with their summed rows (:func:`graphrec.train.lazy_adam.clip_grad_norm_`).
        max_len: input window length ``L`` of the split.
        samples: what one training sample is: ``"windows"`` (default) one training row with
            a target at every position; ``"prefixes"`` every prefix of every row as its own
            window with one target on its newest position (the S3Rec/FMLP-Rec/BSARec
            recipe; :class:`graphrec.data.prefix_rows.PrefixRows`), so ``batch_size``
            counts prefixes.
        pack_sequences: pack each training batch's sequences into fewer rows
            (:mod:`graphrec.data.packing`; same losses, less padding for encoders that
            run dense ``(B, L)`` kernels); only for models with ``supports_packing``.
        num_threads: ``torch.set_num_threads`` (``0`` = leave PyTorch's default).
        progress: show a tqdm progress bar (rank 0 only).
        tensorboard_dir: also log every epoch's loss terms and validation metrics as
            TensorBoard scalars there (needs the ``tb`` extra: ``pip install -e ".[tb]"``).
        log_file: JSON-lines log, one record per epoch (``None``: no log file).
        checkpoint_dir: where ``last.pt`` / ``best.pt`` go (``None``: keep the best in memory only).
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        find_unused_parameters: passed to DDP for models whose terms leave parameters unused.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    weight_decay: float = 0.0
    optimizer: str = "adam"
    loss_weights: dict[str, Any] = field(default_factory=dict)
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    patience: int = 10
    metric: str | None = None
    eval_every: int = 1
    eval_batch_size: int = 1024
    seed: int = 2024
    device: str = "auto"
    amp: bool = False
    grad_clip: float = 0.0
    max_len: int = 50
    samples: str = "windows"
    pack_sequences: bool = False
    num_threads: int = 0
    progress: bool = True
    log_file: str | None = None
    tensorboard_dir: str | None = None
    checkpoint_dir: str | None = None
    resume: bool = False
    find_unused_parameters: bool = False

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "num_threads"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        for name in ("batch_size", "eval_batch_size", "eval_every", "max_len"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        if not 0 < self.lr <= 1e6:
            problems.append(f"lr must lie in (0, 1e6], got {self.lr}")
        for name in ("weight_decay", "grad_clip", "warmup_epochs"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) > 1e6:
                problems.append(f"{name} must be finite and at most 1e6, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**63:
            problems.append(f"seed must lie in [0, 2^63), got {self.seed}")
        if self.samples not in TRAIN_SAMPLES:
            problems.append(f"samples must be one of {list(TRAIN_SAMPLES)}, got {self.samples!r}")
        if self.lr_schedule not in SCHEDULES:
            problems.append(f"lr_schedule must be one of {list(SCHEDULES)}, got {self.lr_schedule!r}")
        if self.warmup_epochs < 0:
            problems.append("warmup_epochs must be >= 0")
        if self.weight_decay < 0 or self.grad_clip < 0:
            problems.append("weight_decay and grad_clip must be >= 0")
        if self.optimizer.lower() not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.metric is not None and not _METRIC.match(self.metric):
            problems.append(f"metric must be HR@k, NDCG@k, Recall@k or MRR, got {self.metric!r}")
        if not isinstance(self.loss_weights, Mapping):
            problems.append("loss_weights must be a mapping term -> weight")
        else:
            try:
                object.__setattr__(self, "loss_weights", normalize_loss_weights(self.loss_weights))
            except ValueError as exc:
                problems.append(str(exc))
        try:
            object.__setattr__(self, "param_groups", check_param_groups(self.param_groups))
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))
        object.__setattr__(self, "optimizer", self.optimizer.lower())

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys raise listing the valid ones; values are coerced."""
        return from_dict(cls, values, section="train")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


__all__ = [
    "OPTIMIZERS",
    "TrainConfig",
    "apply_overrides",
    "check_keys",
    "coerce",
    "from_dict",
    "load_yaml",
    "parse_override",
]
