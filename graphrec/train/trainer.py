"""The one generic training loop for every model.

No model has its own trainer: a model exposes named loss terms
(``loss_terms(batch) -> dict[str, Tensor]``) and the trainer minimises

.. math::

    \\mathcal{L} = \\sum_{t} w_t \\, \\mathcal{L}_t, \\qquad w_t = \\texttt{loss\\_weights}[t]
    \\; (1 \\text{ if absent}),

logs every term, evaluates on validation every ``eval_every`` epochs, stops early
after ``patience`` evaluations without improvement of ``metric``, keeps the best
weights, and finally evaluates the test targets with them. Pre-training phases or
schedules are expressed as loss weights, not as subclasses.

The weights may follow a schedule over epochs (:mod:`graphrec.train.loss_weights`).

Per epoch: the model's ``on_epoch_start`` hook runs; the training rows are
permuted by a seeded ``torch.Generator`` (the same permutation on every rank) and
cut into global batches of ``batch_size`` rows; the model's batch step
(``training_batch``, seeded by ``(seed, epoch, step)``) turns each global batch into
what it trains on; under DDP rank ``r`` then trains on rows ``r::W`` of it. Each
loss term declares what it is a mean over (``loss_units``: target positions, rows,
or a unit the model counts) and is rescaled by
:func:`graphrec.distributed.loss_scale` with the all-reduced count of that unit, so
that the averaged gradient equals the single-process gradient of the mean over the
global batch. For terms that use the other rows of the batch as negatives
(in-batch contrastive losses) the negatives of a row are the rows of its own
rank's slice: the 2-process run equals the single-process run whose loss is the
row-weighted mean of the same loss computed on each slice separately (tested);
it is not the loss over the whole global batch. After every optimizer step the
``on_step_end`` hook runs; after the last step ``on_epoch_end`` runs, before
validation and before ``last.pt`` is written.

Reproducibility: the same ``seed`` gives the same metrics; a run resumed from
``last.pt`` continues with the exact optimizer and RNG states, so it ends with the
same metrics as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from graphrec import distributed
from graphrec.data.batch import SeqBatch
from graphrec.data.packing import pack_batch
from graphrec.data.prefix_rows import training_samples
from graphrec.distributed import DistInfo, resolve_device
from graphrec.models.base import SequentialRecommender
from graphrec.models.hooks import TrainState, mix_seed
from graphrec.train.checkpoint import BEST, LAST, load_checkpoint, save_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.epoch_log import EpochLog
from graphrec.train.lazy_adam import clip_grad_norm_
from graphrec.train.loss_weights import weight_at
from graphrec.train.optim import build_optimizer, build_scheduler
from graphrec.train.resume import check_resumable
from graphrec.train.seed import capture_rng_state, restore_rng_state, seed_everything

#: what a ``last.pt`` holds beyond the weights, all needed to continue a run exactly
RESUME_KEYS = ("optimizer", "epoch", "best_metric", "best_epoch", "bad_evals", "history", "best_model", "rng")

#: ``(model, which) -> metrics``; ``which`` is "valid" or "test"; must return ``config.metric``
Evaluator = Callable[[SequentialRecommender, str], dict[str, Any]]


class TrainData(Protocol):
    """What the trainer needs from a split (``LeaveOneOutSplit`` or a user split)."""

    @property
    def num_train_rows(self) -> int: ...

    def train_batch(self, rows: np.ndarray) -> SeqBatch: ...


class _LossModule(nn.Module):
    """Routes ``forward`` to ``loss_terms`` so that DDP's hooks see the training call."""

    def __init__(self, model: SequentialRecommender) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: SeqBatch) -> dict[str, Tensor]:
        return self.model.loss_terms(batch)


class Trainer:
    """Train a :class:`~graphrec.models.base.SequentialRecommender` with one generic loop.

    Args:
        model: the model (moved to ``config.device``).
        split: training rows (``num_train_rows``, ``train_batch(rows)``).
        config: :class:`~graphrec.train.config.TrainConfig`.
        evaluator: ``(model, which) -> metrics`` on the validation (``"valid"``) or test
            (``"test"``) part, e.g. :func:`graphrec.eval.loo.loo_evaluator` of a
            leave-one-out split; the trainer knows no protocol.
        metadata: JSON-able facts stored in checkpoints (model name/options, data, ...).
        on_epoch_end: called with each epoch's log record (after its checkpoint is written).
        dist_info: the process's place in a DDP job (default: the current group, if any).
    """

    def __init__(
        self,
        model: SequentialRecommender,
        split: TrainData,
        config: TrainConfig,
        *,
        evaluator: Evaluator,
        metadata: dict[str, Any] | None = None,
        on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
        dist_info: DistInfo | None = None,
    ) -> None:
        self.config = config
        #: the validation metric that selects the best epoch (``NDCG@10`` unless configured)
        self.metric: str = config.metric or "NDCG@10"
        #: the training samples: the split's rows, or their prefixes (``config.samples``)
        self.split = training_samples(split, config.samples)  # type: ignore[arg-type]
        self.info = dist_info or distributed.current()
        self.device = resolve_device(config.device, self.info)
        self.model = model.to(self.device)
        self.metadata = dict(metadata or {})
        self.on_epoch_end = on_epoch_end
        self.evaluator = evaluator
        self.generator = torch.Generator().manual_seed(config.seed)
        self.trainable = bool(getattr(model, "trainable", True)) and any(
            p.requires_grad for p in model.parameters()
        )
        if config.pack_sequences and not getattr(model, "supports_packing", False):
            raise ValueError(f"train.pack_sequences is set but {type(model).__name__} does not accept "
                             "packed batches (supports_packing = False)")
        self.log = EpochLog(config.log_file, config.tensorboard_dir)
        self.optimizer = build_optimizer(self.model, config) if self.trainable else None
        self.scheduler = (build_scheduler(self.optimizer, config, self.split.num_train_rows)
                          if self.optimizer is not None else None)
        use_cuda = self.device.type == "cuda"
        if config.amp and not use_cuda:
            warnings.warn("amp=True is ignored on CPU (autocast is used on CUDA only)", stacklevel=2)
        self.amp = bool(config.amp and use_cuda)
        self.amp_dtype = (torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.loss_module: nn.Module | None = (
            distributed.wrap_ddp(_LossModule(self.model), self.info, config.find_unused_parameters)
            if self.trainable else None
        )
        self._checked_terms = False
        # run state (restored on resume)
        self.epoch = 0
        self.best_metric = -math.inf
        self.best_epoch = 0
        self.bad_evals = 0
        self.stopped_early = False
        self.history: list[dict[str, Any]] = []
        self.best_state: dict[str, Tensor] | None = None
        self.best_valid: dict[str, Any] | None = None
        self.resumed_from: int | None = None

    # ------------------------------------------------------------------ setup
    @property
    def checkpoint_dir(self) -> Path | None:
        return Path(self.config.checkpoint_dir) if self.config.checkpoint_dir else None

    # -------------------------------------------------------------------- fit
    def fit(self) -> dict[str, Any]:
        """Train, early-stop, restore the best weights and evaluate the test targets.

        Returns:
            ``best_epoch``, ``best_metric``, ``metric``, ``epochs_run``, ``stopped_early``,
            ``valid`` (metrics at the best epoch), ``test``, ``history`` (one record
            per epoch), ``train_seconds``, ``seq_per_s`` and ``resumed_from``.
        """
        cfg = self.config
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        train_seconds = 0.0
        rows_seen = 0
        if self.trainable:
            last = self.checkpoint_dir / LAST if self.checkpoint_dir else None
            if cfg.resume and last is not None and last.is_file():
                saved = load_checkpoint(last)
                missing = [key for key in RESUME_KEYS if key not in saved]
                if missing:
                    raise ValueError(f"{last}: holds no {', '.join(missing)} state, so training cannot "
                                     f"continue from it (a {BEST} copied over it?); resume needs the "
                                     f"{LAST} the run wrote, or start over with --overwrite")
                check_resumable(saved, cfg.to_dict(), self.metadata, str(last))
                self.model.on_fit_start(self._hook_state(0, resumed=True))
                self._restore(saved)
                if self.info.is_main and cfg.log_file:  # the log holds exactly the checkpointed epochs
                    Path(cfg.log_file).write_text(
                        "".join(json.dumps(rec, default=float) + "\n" for rec in self.history)
                    )
            else:
                seed_everything(cfg.seed + self.info.rank)
                self.model.on_fit_start(self._hook_state(0))
                if self.info.is_main and cfg.log_file:
                    Path(cfg.log_file).parent.mkdir(parents=True, exist_ok=True)
                    Path(cfg.log_file).write_text("")
            for _ in self._epochs():
                pass
            # over every epoch of the run, those before a resume included
            train_seconds = float(sum(r["seconds"] for r in self.history))
            rows_seen = int(sum(r["rows"] for r in self.history))
        if self.best_state is None:
            # untrainable model, no epoch evaluated, or nothing to train: use the current weights
            self.best_valid = self.evaluator(self.model, "valid")
            self.best_epoch = self.epoch
            self.best_metric = float(self._metric_of(self.best_valid))
            self.best_state = self._state_copy()
            self._save_best()
        self.model.load_state_dict(self.best_state)
        test = self.evaluator(self.model, "test")
        return {
            "metric": self.metric,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epoch,
            "stopped_early": self.stopped_early,
            "valid": self.best_valid,
            "test": test,
            "history": self.history,
            "train_seconds": train_seconds,
            "seq_per_s": rows_seen / train_seconds if train_seconds > 0 else 0.0,
            "resumed_from": self.resumed_from,
        }

    def _epochs(self) -> Iterator[dict[str, Any]]:
        cfg = self.config
        while self.epoch < cfg.epochs and not self.stopped_early:
            epoch = self.epoch + 1
            record = self._train_epoch(epoch)
            self.epoch = epoch
            self.model.on_epoch_end(self._hook_state(epoch, record=record))
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                valid = self.evaluator(self.model, "valid")
                value = float(self._metric_of(valid))
                record["valid"] = valid
                if value > self.best_metric:
                    self.best_metric, self.best_epoch, self.bad_evals = value, epoch, 0
                    self.best_state, self.best_valid = self._state_copy(), valid
                    self._save_best()
                else:
                    self.bad_evals += 1
                    if cfg.patience > 0 and self.bad_evals >= cfg.patience:
                        self.stopped_early = True
                record["best_epoch"] = self.best_epoch
            self.history.append(record)
            if self.info.is_main:
                self.log.write(record)
            self._save_last()
            if self.on_epoch_end is not None:
                self.on_epoch_end(record)
            yield record

    def _hook_state(self, epoch: int, resumed: bool = False,
                    record: dict[str, Any] | None = None) -> TrainState:
        steps = math.ceil(self.split.num_train_rows / self.config.batch_size)
        return TrainState(
            seed=self.config.seed, epoch=epoch, step=self.global_step, epochs=self.config.epochs,
            steps_per_epoch=steps, device=self.device, rank=self.info.rank,
            world_size=self.info.world_size, resumed=resumed or self.resumed_from is not None,
            train_sequences=self._train_sequences, record=record if record is not None else {},
        )

    def _train_sequences(self, batch_size: int = 1024) -> Iterator[SeqBatch]:
        """Every training row in order, on the device, model in eval mode, no gradients."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                n = self.split.num_train_rows
                for start in range(0, n, batch_size):
                    rows = np.arange(start, min(start + batch_size, n))
                    yield self.split.train_batch(rows).to(self.device)
        finally:
            self.model.train(was_training)

    @property
    def global_step(self) -> int:
        """Optimizer steps taken so far (restored on resume through the scheduler's count)."""
        return int(self.scheduler.last_epoch) if self.scheduler is not None else 0

    def _step_batch(self, epoch: int, step: int,
                    global_rows: np.ndarray) -> tuple[SeqBatch, dict[str, float]]:
        """This rank's batch for one step and, per loss unit, its count (for DDP scaling).

        The batch step runs on the *global* batch (same generator on every rank), then
        rank ``r`` keeps rows ``r::W`` of the result.
        """
        cfg, info = self.config, self.info
        generator = torch.Generator().manual_seed(mix_seed(cfg.seed, epoch, step))
        batch = self.model.training_batch(self.split.train_batch(global_rows), generator)
        share = 1.0
        if info.is_distributed:
            local = torch.arange(info.rank, batch.batch_size, info.world_size)
            if len(local) == 0:  # fewer rows than ranks: keep DDP in step, contribute nothing
                local, share = torch.zeros(1, dtype=torch.long), 0.0
            batch = batch.select(local)
        counts = {k: v * share for k, v in self.model.loss_counts(batch).items()}
        if cfg.pack_sequences:
            batch = pack_batch(batch)
        return batch.to(self.device), counts

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        cfg, info = self.config, self.info
        assert self.optimizer is not None and self.loss_module is not None
        start = time.perf_counter()  # the epoch's time includes its hooks (e.g. k-means)
        self.model.on_epoch_start(self._hook_state(epoch))
        self.model.train()
        n = self.split.num_train_rows
        perm = torch.randperm(n, generator=self.generator).numpy()  # same on every rank
        steps = math.ceil(n / cfg.batch_size)
        term_sums: dict[str, Tensor] = {}
        total_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        bar = tqdm(total=steps, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True,
                   disable=not (cfg.progress and info.is_main))
        for step in range(steps):
            global_rows = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            batch, counts = self._step_batch(epoch, step, global_rows)
            totals = distributed.all_reduce_sums(counts, info) if info.is_distributed else counts
            autocast = (torch.autocast("cuda", dtype=self.amp_dtype) if self.amp
                        else contextlib.nullcontext())
            with autocast:
                terms = self.loss_module(batch)
            if not self._checked_terms:
                self._check_terms(terms, counts, batch)
            scales = {name: self._scale(name, batch, counts, totals) for name in terms}
            weights = {name: weight_at(cfg.loss_weights, name, epoch) for name in terms}
            total = sum((weights[name] * value.float() * scales[name] for name, value in terms.items()),
                        torch.zeros((), device=self.device))
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            if cfg.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                clip: Callable[..., Tensor] = (clip_grad_norm_  # also clips (coalesced) sparse grads
                                               if getattr(self.model, "sparse_gradients", False)
                                               else nn.utils.clip_grad_norm_)
                clip(self.model.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            assert self.scheduler is not None
            self.scheduler.step()
            self.model.on_step_end(self._hook_state(epoch))
            for name, value in terms.items():  # this rank's share of each global mean: scale / W
                share = scales[name] / info.world_size
                acc = term_sums.setdefault(name, torch.zeros((), dtype=torch.float64, device=self.device))
                acc += value.detach().double() * share
                total_sum += value.detach().double() * (weights[name] * share)
            bar.update(1)
            if bar.disable is False and (step % 10 == 0 or step == steps - 1):
                loss_now = float(total_sum) / (step + 1)
                elapsed = time.perf_counter() - start
                bar.set_postfix(loss=f"{loss_now:.4f}", seq_s=f"{(step + 1) * cfg.batch_size / elapsed:.0f}")
        bar.close()
        seconds = time.perf_counter() - start
        sums = {name: float(v) for name, v in term_sums.items()}
        sums["__total__"] = float(total_sum)
        sums = distributed.all_reduce_sums(sums, info)
        seconds = distributed.all_reduce_max(seconds, info)
        loss = sums.pop("__total__") / max(steps, 1)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"epoch {epoch}: training loss is {loss}; terms {sums}. Lower lr, enable grad_clip, or "
                "check the model for NaN (e.g. fully padded attention rows)."
            )
        record: dict[str, Any] = {"epoch": epoch, "loss": loss}
        record.update({f"loss/{name}": value / max(steps, 1) for name, value in sorted(sums.items())})
        nondefault = {name: weight_at(cfg.loss_weights, name, epoch) for name in sums
                      if not isinstance(cfg.loss_weights.get(name, 1.0), (int, float))}
        record.update({f"weight/{name}": w for name, w in sorted(nondefault.items())})
        record.update({"seconds": seconds, "rows": n, "seq_per_s": n / seconds if seconds > 0 else 0.0})
        return record

    def _scale(self, name: str, batch: SeqBatch, counts: Mapping[str, float],
               totals: Mapping[str, float]) -> float:
        """:func:`~graphrec.distributed.loss_scale` of term ``name`` (1 alone): ``W n_r / n`` over
        the units the term averages over."""
        if not self.info.is_distributed:
            return 1.0
        unit = self.model.loss_unit(name, batch)
        return distributed.loss_scale(counts[unit], totals[unit], self.info)

    def _check_terms(self, terms: dict[str, Tensor], counts: Mapping[str, float], batch: SeqBatch) -> None:
        if not isinstance(terms, dict) or not terms:
            raise TypeError(f"{type(self.model).__name__}.loss_terms must return a non-empty dict of scalars")
        for name in terms:
            unit = self.model.loss_unit(name, batch)
            if unit not in counts:
                raise ValueError(f"{type(self.model).__name__}: loss term {name!r} averages over {unit!r}, "
                                 f"which loss_counts does not count (it counts {sorted(counts)})")
        unknown = sorted(set(self.config.loss_weights) - set(terms))
        if unknown:
            raise ValueError(
                f"loss_weights name term(s) {unknown} that {type(self.model).__name__} does not return; "
                f"its loss terms are {sorted(terms)}"
            )
        self._checked_terms = True

    def _metric_of(self, metrics: dict[str, Any]) -> float:
        if self.metric not in metrics:
            raise ValueError(
                f"metric {self.metric!r} is not produced by the evaluator; "
                f"available: {sorted(k for k, v in metrics.items() if isinstance(v, float))}"
            )
        value = float(metrics[self.metric])
        return value if math.isfinite(value) else -math.inf

    # ------------------------------------------------------- logs/checkpoints
    def _state_copy(self) -> dict[str, Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _save_best(self) -> None:
        if self.info.is_main and self.checkpoint_dir is not None:
            save_checkpoint(self.checkpoint_dir / BEST, {
                "model": self.best_state, "epoch": self.best_epoch, "metric": self.metric,
                "best_metric": self.best_metric, "valid": self.best_valid,
                "config": self.config.to_dict(), "metadata": self.metadata,
            })

    def _save_last(self) -> None:
        if self.checkpoint_dir is None:
            return
        rng = distributed.gather_objects(capture_rng_state(self.generator), self.info)  # collective
        if not self.info.is_main:
            return
        assert self.optimizer is not None
        save_checkpoint(self.checkpoint_dir / LAST, {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early,
            "history": self.history,
            "best_model": self.best_state,
            "best_valid": self.best_valid,
            "rng": rng,
            "world_size": self.info.world_size,
            "config": self.config.to_dict(),
            "metadata": self.metadata,
        })

    def _restore(self, state: dict[str, Any]) -> None:
        assert self.optimizer is not None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if state.get("scheduler") and self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.best_metric = float(state["best_metric"])
        self.best_epoch = int(state["best_epoch"])
        self.bad_evals = int(state["bad_evals"])
        self.stopped_early = bool(state["stopped_early"])
        self.history = list(state["history"])
        self.best_state = state["best_model"]
        self.best_valid = state.get("best_valid")
        self.resumed_from = self.epoch
        rng = state["rng"]
        if len(rng) == self.info.world_size:
            restore_rng_state(rng[self.info.rank], self.generator)
        else:
            warnings.warn(
                f"checkpoint was written by {len(rng)} process(es), resuming with {self.info.world_size}: "
                "shuffling continues exactly, dropout draws are re-seeded", stacklevel=2,
            )
            self.generator.set_state(rng[0]["generator"])
            seed_everything(self.config.seed + 7919 * self.epoch + self.info.rank)


__all__ = ["Evaluator", "TrainData", "Trainer", "resolve_device"]
