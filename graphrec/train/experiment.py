"""One experiment end to end: data -> split -> model -> training -> evaluation -> ``result.json``.

:func:`run_experiment` is what ``graphrec train`` calls (also under ``torchrun``):

1. start the process group when launched by ``torchrun`` (no-op alone);
2. load the dataset (:func:`graphrec.data.load.load_dataset`) and build the
   protocol's split (``"loo"`` leave-one-out, ``"user"`` user split; see :data:`PROTOCOLS`);
3. seed everything with ``train.seed`` and build the model with
   ``graphrec.models.resolve(model).from_config(num_items, **model_options)``
   (a model whose constructor takes ``item_counts``, e.g. POP, receives the
   split's training item counts);
4. train with the generic :class:`~graphrec.train.trainer.Trainer` (checkpoints
   in ``output_dir/checkpoints``, JSON-lines log ``output_dir/train.jsonl`` unless
   set otherwise), early-stopping on ``train.metric``;
5. evaluate the best weights on validation and on test, the test both with and
   without history masking (``mask_history_eval`` chooses which one is *the* test
   result), and write ``output_dir/result.json`` (rank 0, atomically) with the
   config, data checksum, seed, metrics, epochs, train seconds, sequences/s,
   evaluation users/s and peak memory.

:func:`evaluate_checkpoint` re-evaluates a saved ``best.pt`` / ``last.pt``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

import graphrec
from graphrec.atomic import write_json_atomic
from graphrec.data.dataset import SequenceDataset
from graphrec.models.base import SequentialRecommender
from graphrec.train import distributed
from graphrec.train.checkpoint import BEST, load_checkpoint
from graphrec.train.config import TrainConfig, apply_overrides, check_keys, coerce, load_yaml
from graphrec.train.seed import seed_everything
from graphrec.train.trainer import Trainer, resolve_device

RESULT_FILE = "result.json"


# ------------------------------------------------------------------------------ protocols
@dataclass(frozen=True)
class ProtocolSpec:
    """How a protocol splits data and evaluates a model.

    Attributes:
        build_split: ``(dataset, max_len, **split_options) -> split`` with
            ``num_train_rows``, ``train_batch(rows)`` and ``train_item_counts()``.
        evaluate: ``(model, split, which, *, batch_size, mask_history, device, shard,
            **eval_options) -> metrics``.
        split_options / eval_options: the ``protocol_options`` keys each accepts.
    """

    build_split: Callable[..., Any]
    evaluate: Callable[..., dict[str, Any]]
    split_options: tuple[str, ...] = ()
    eval_options: tuple[str, ...] = ()


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
PROTOCOLS: dict[str, ProtocolSpec] = {
    "loo": ProtocolSpec(_loo_split, _loo_evaluate, eval_options=("ks",)),
    "user": ProtocolSpec(_user_split, _user_evaluate,
                         split_options=("seed", "ratios", "history_fraction", "max_windows"),
                         eval_options=("ns", "backend", "block_size")),
}


def resolve_protocol(name: str) -> ProtocolSpec:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; valid protocols: {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]


# ---------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run.

    Args:
        data: dataset spec for :func:`graphrec.data.load.load_dataset` (``"synthetic"``,
            a prepared directory, an S3Rec/RecBole directory or a file).
        data_options: keyword options of the synthetic generator (``"synthetic"`` only).
        model: registered model name (:func:`graphrec.models.resolve`).
        model_options: constructor options of the model (unknown ones raise).
        train: :class:`~graphrec.train.config.TrainConfig`.
        protocol: ``"loo"`` or ``"user"`` (keys of :data:`PROTOCOLS`).
        protocol_options: split/evaluation options of the protocol (e.g. ``ns`` for ``"user"``).
        mask_history_eval: whether *the* reported validation/test metrics mask the
            user's history (both test variants are recorded either way).
        output_dir: where ``result.json``, ``train.jsonl`` and ``checkpoints/`` go.
    """

    data: str = "synthetic"
    data_options: dict[str, Any] = field(default_factory=dict)
    model: str = "sasrec"
    model_options: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    protocol: str = "loo"
    protocol_options: dict[str, Any] = field(default_factory=dict)
    mask_history_eval: bool = False
    output_dir: str = "runs/experiment"

    def __post_init__(self) -> None:
        spec = resolve_protocol(self.protocol)
        check_keys(self.protocol_options, spec.split_options + spec.eval_options, "protocol_options")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ExperimentConfig:
        """Build from a (YAML) dict; ``model`` may be a name or ``{name: ..., <options>}``.

        Unknown keys raise listing the valid ones (nested ``train`` keys included).
        """
        if not isinstance(values, Mapping):
            raise ValueError(f"an experiment config must be a mapping, got {type(values).__name__}")
        values = dict(values)
        fields = {f.name for f in dataclasses.fields(cls)}
        check_keys(values, fields, "experiment")
        model = values.get("model")
        if isinstance(model, Mapping):
            model = dict(model)  # {name: ..., <options>}; without a name, the default model
            values["model"] = str(model.pop("name", cls.model))
            values["model_options"] = {**dict(values.get("model_options") or {}), **model}
        train = values.get("train", {})
        values["train"] = train if isinstance(train, TrainConfig) else TrainConfig.from_dict(train or {})
        hints = {"data": str, "model": str, "protocol": str, "mask_history_eval": bool, "output_dir": str}
        for key, annotation in hints.items():
            if key in values:
                values[key] = coerce(values[key], annotation, key)
        for key in ("data_options", "model_options", "protocol_options"):
            values[key] = coerce(values.get(key) or {}, dict[str, Any], key)
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str] | None = None,
                  overrides: Iterable[str] = ()) -> ExperimentConfig:
        """Load a YAML file (or start from defaults) and apply ``key=value`` overrides,
        e.g. ``train.lr=0.001`` or ``model.hidden_size=64``."""
        base = load_yaml(path) if path is not None else {}
        return cls.from_dict(apply_overrides(base, overrides))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["train"] = self.train.to_dict()
        return out


# -------------------------------------------------------------------------------- building
def load_data(cfg: ExperimentConfig) -> SequenceDataset:
    """The dataset named by ``cfg.data`` (with ``cfg.data_options`` for the generator)."""
    from graphrec.data.load import load_dataset

    return load_dataset(cfg.data, **cfg.data_options)


def build_model(cfg: ExperimentConfig, split: Any) -> SequentialRecommender:
    """``resolve(cfg.model).from_config(num_items, **cfg.model_options)``.

    A constructor with an ``item_counts`` argument gets the split's training item
    counts (``(N + 1,)``, no held-out item) unless the options already set it; one
    with a ``max_len`` argument gets ``train.max_len`` (the window length of the
    split) unless set, and may not be shorter than it.
    """
    from graphrec.models import resolve

    cls = resolve(cfg.model)
    options = dict(cfg.model_options)
    if "item_counts" in cls.config_keys() and "item_counts" not in options:
        options["item_counts"] = split.train_item_counts()
    if "max_len" in cls.config_keys():
        given = options.setdefault("max_len", cfg.train.max_len)
        if int(given) < cfg.train.max_len:
            raise ValueError(f"model.max_len = {given} is shorter than the input windows "
                             f"(train.max_len = {cfg.train.max_len}); set one value for both")
    return cls.from_config(split.num_items, **options)


def peak_memory_mb(device: torch.device) -> float:
    """Peak CUDA memory allocated on ``device``, else the process's peak resident set, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux


# ------------------------------------------------------------------------------------- run
def run_experiment(cfg: ExperimentConfig, dataset: SequenceDataset | None = None) -> dict[str, Any]:
    """Run one experiment and write ``<output_dir>/result.json`` (see the module docstring).

    Args:
        cfg: the experiment.
        dataset: use this dataset instead of loading ``cfg.data``.

    Returns:
        The result dict written to ``result.json`` (identical on every rank).
    """
    started_group = not (dist.is_available() and dist.is_initialized())
    info = distributed.init_distributed(cfg.train.device)
    try:
        return _run(cfg, dataset, info)
    finally:
        if started_group:
            distributed.cleanup()


def _run(
    cfg: ExperimentConfig, dataset: SequenceDataset | None, info: distributed.DistInfo
) -> dict[str, Any]:
    tcfg = cfg.train
    out_dir = Path(cfg.output_dir)
    if tcfg.num_threads > 0:
        torch.set_num_threads(tcfg.num_threads)
    tcfg = tcfg.replace(
        checkpoint_dir=tcfg.checkpoint_dir or str(out_dir / "checkpoints"),
        log_file=tcfg.log_file or str(out_dir / "train.jsonl"),
    )
    protocol = resolve_protocol(cfg.protocol)
    split_opts = {k: v for k, v in cfg.protocol_options.items() if k in protocol.split_options}
    eval_opts = {k: v for k, v in cfg.protocol_options.items() if k in protocol.eval_options}

    load_start = time.perf_counter()
    data = dataset if dataset is not None else load_data(cfg)
    split = protocol.build_split(data, tcfg.max_len, **split_opts)
    load_seconds = time.perf_counter() - load_start
    seed_everything(tcfg.seed)
    model = build_model(cfg, split)
    device = resolve_device(tcfg.device, info)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def evaluator(m: SequentialRecommender, which: str, mask: bool | None = None) -> dict[str, Any]:
        return protocol.evaluate(
            m, split, which, batch_size=tcfg.eval_batch_size,
            mask_history=cfg.mask_history_eval if mask is None else mask,
            device=device, shard=True, **eval_opts,
        )

    metadata = {"experiment": cfg.to_dict(), "num_items": split.num_items, "data_checksum": data.checksum()}
    trainer = Trainer(model, split, tcfg, mask_history=cfg.mask_history_eval, evaluator=evaluator,
                      metadata=metadata, dist_info=info)
    fit = trainer.fit()
    other = evaluator(trainer.model, "test", mask=not cfg.mask_history_eval)
    masked, unmasked = (fit["test"], other) if cfg.mask_history_eval else (other, fit["test"])
    num_params = sum(p.numel() for p in model.parameters())
    result: dict[str, Any] = {
        "protocol": cfg.protocol,
        "data": cfg.data,
        "data_checksum": data.checksum(),
        "data_summary": {"num_users": data.num_users, "num_items": data.num_items,
                         "num_interactions": data.num_interactions},
        "model": cfg.model,
        "num_parameters": int(num_params),
        "seed": tcfg.seed,
        "mask_history_eval": cfg.mask_history_eval,
        "metrics": {
            "valid": fit["valid"],
            "test": fit["test"],
            "test_masked": masked,
            "test_unmasked": unmasked,
        },
        "metric": fit["metric"],
        "best_metric": fit["best_metric"],
        "best_epoch": fit["best_epoch"],
        "epochs_run": fit["epochs_run"],
        "stopped_early": fit["stopped_early"],
        "resumed_from": fit["resumed_from"],
        "train_seconds": fit["train_seconds"],
        "seq_per_s": fit["seq_per_s"],
        "eval_users_per_s": fit["test"].get("users_per_s"),
        "load_seconds": load_seconds,
        "peak_memory_mb": peak_memory_mb(device),
        "world_size": info.world_size,
        "device": str(device),
        "environment": {"graphrec": graphrec.__version__, "torch": torch.__version__,
                        "python": platform.python_version()},
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": str(Path(tcfg.checkpoint_dir or "") / BEST),
        "config": cfg.to_dict(),
    }
    if info.is_main:
        write_json_atomic(out_dir / RESULT_FILE, result)
    return result


def _find_checkpoint(path: str | os.PathLike[str]) -> Path:
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
    ckpt_path = _find_checkpoint(path)
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
    protocol = resolve_protocol(cfg.protocol)
    split_opts = {k: v for k, v in cfg.protocol_options.items() if k in protocol.split_options}
    split = protocol.build_split(dataset, cfg.train.max_len, **split_opts)
    model = build_model(cfg, split)
    model.load_state_dict(state["model"])
    wanted = device if device is not None else cfg.train.device
    if str(wanted).startswith("cuda") and not torch.cuda.is_available():
        wanted = "cpu"
    dev = resolve_device(wanted, distributed.current())
    model.to(dev).eval()
    return LoadedRun(model, cfg, dataset, split, dev, ckpt_path, state.get("epoch"))


def evaluate_checkpoint(
    path: str | os.PathLike[str],
    which: str = "test",
    mask_history: bool | None = None,
    data: str | SequenceDataset | None = None,
    batch_size: int | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint written by :func:`run_experiment` (see :func:`load_run`).

    Args:
        path: checkpoint file or run directory.
        which: ``"valid"`` or ``"test"``.
        mask_history: mask history items (default: as in the run).
        data: evaluate on this dataset instead of the run's.
        batch_size: users per block (default: the run's ``eval_batch_size``).
        device: where to evaluate.

    Returns:
        The protocol's metrics plus ``checkpoint``, ``epoch``, ``which`` and ``data_checksum``.
    """
    run = load_run(path, data=data, device=device)
    cfg = run.config
    protocol = resolve_protocol(cfg.protocol)
    eval_opts = {k: v for k, v in cfg.protocol_options.items() if k in protocol.eval_options}
    metrics = protocol.evaluate(
        run.model, run.split, which, batch_size=batch_size or cfg.train.eval_batch_size,
        mask_history=cfg.mask_history_eval if mask_history is None else mask_history,
        device=run.device, shard=True, **eval_opts,
    )
    metrics.update({"checkpoint": str(run.checkpoint), "epoch": run.epoch, "which": which,
                    "data_checksum": run.dataset.checksum()})
    return metrics


def build_experiment_config(
    config_file: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> ExperimentConfig:
    """Defaults < YAML file < ``settings`` (command-line flags, nested dict) < ``key=value`` overrides.

    ``settings["model"]`` may name a model while the YAML gives ``model: {name: ..., options}``:
    the name is replaced and the options kept.
    """
    values = load_yaml(config_file) if config_file is not None else {}
    for key, value in (settings or {}).items():
        current = values.get(key)
        if key == "model" and isinstance(current, Mapping):
            values[key] = {**dict(current), "name": value}
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            values[key] = {**dict(current), **dict(value)}
        else:
            values[key] = value
    return ExperimentConfig.from_dict(apply_overrides(values, overrides))


__all__ = [
    "PROTOCOLS",
    "ExperimentConfig",
    "LoadedRun",
    "build_experiment_config",
    "load_run",
    "ProtocolSpec",
    "build_model",
    "evaluate_checkpoint",
    "load_data",
    "peak_memory_mb",
    "resolve_protocol",
    "run_experiment",
]
