"""One experiment end to end: data -> split -> model -> training -> evaluation -> ``result.json``.

:func:`run_experiment` is what ``graphrec train`` calls (also under ``torchrun``):

1. start the process group when launched by ``torchrun`` (no-op alone);
2. load the dataset (:func:`graphrec.data.load.load_dataset`) and build the
   protocol's split (``"loo"`` leave-one-out, ``"user"`` user split; see :data:`PROTOCOLS`);
3. seed everything with ``train.seed`` and build the model with
   ``graphrec.models.resolve(model).from_context(ctx, **model_options)``, ``ctx``
   being the split's :class:`~graphrec.models.context.ModelContext` (training item
   counts, item → category, graphs of the training part, window length);
4. train with the generic :class:`~graphrec.train.trainer.Trainer` (checkpoints
   in ``output_dir/checkpoints``, JSON-lines log ``output_dir/train.jsonl`` unless
   set otherwise), early-stopping on ``train.metric``;
5. evaluate the best weights on validation and on test, the test both with and
   without history masking (``mask_history_eval`` chooses which one is *the* test
   result), and write ``output_dir/result.json`` (rank 0, atomically) with the
   config, data checksum, seed, metrics, epochs, train seconds, sequences/s,
   evaluation users/s and peak memory. Under leave-one-out it also writes every
   evaluated user's 1-based test rank, masked and unmasked, beside it
   (:data:`RANK_FILES`, int32 ``.npy``, named in ``result["ranks"]``) and the test
   metrics of head and tail users (``metrics.test_masked_by_group`` /
   ``test_unmasked_by_group``, :mod:`graphrec.eval.head_tail`). Under the user split, which
   has several targets per user and so no single rank, it writes every evaluated user's
   own test metric values instead (:data:`USER_VALUE_FILES`, float64 ``(U, M)`` ``.npy``,
   named with the ``M`` metric names in ``result["per_user"]``). Either lets
   :mod:`graphrec.experiment.compare` pair runs user by user. Under both protocols the
   test's top-N lists (N = 20, 50 under leave-one-out, the protocol's N under the user
   split) also give novelty, category share and catalogue coverage
   (``metrics.test_masked_beyond`` / ``test_unmasked_beyond``,
   :mod:`graphrec.eval.beyond_accuracy`).

The configuration lives in :mod:`graphrec.experiment.config`, the protocols in
:mod:`graphrec.experiment.protocols`, loading a finished run in :mod:`graphrec.experiment.runs`
(:func:`~graphrec.experiment.runs.evaluate_checkpoint` re-evaluates a saved ``best.pt`` / ``last.pt``).
"""

from __future__ import annotations

import datetime
import platform
import resource
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import graphrec
from graphrec import distributed
from graphrec.atomic import file_sha256, write_json_atomic
from graphrec.data.dataset import SequenceDataset
from graphrec.distributed import resolve_device
from graphrec.eval.head_tail import head_users, metrics_by_group
from graphrec.eval.metrics import DEFAULT_KS
from graphrec.eval.ranks import save_ranks, save_user_values
from graphrec.experiment.config import ExperimentConfig, build_experiment_config, build_model, load_data
from graphrec.experiment.prepare import Prepared, prepare
from graphrec.experiment.protocols import PROTOCOLS, Evaluation, EvaluationProtocol, resolve_protocol
from graphrec.experiment.runs import LoadedRun, evaluate_checkpoint, load_run
from graphrec.models.base import SequentialRecommender
from graphrec.outputs import (
    LOCK,
    MARKER,
    OutputError,
    RunLock,
    check_inside,
    check_output_dir,
    claim_output_dir,
    is_inside,
)
from graphrec.replacement import Replacement, check_no_leftover, record_outputs
from graphrec.train.checkpoint import BEST, LAST
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer

RESULT_FILE = "result.json"
#: leave-one-out: the per-user test ranks (int32 ``.npy``, rows of ``split.eval_users``) beside result.json
RANK_FILES = {"users": "ranks_users.npy", "test_masked": "ranks_test_masked.npy",
              "test_unmasked": "ranks_test_unmasked.npy"}
#: user split: every evaluated user's test metric values (float64 ``(U, M)`` ``.npy``) beside result.json
#: the keys of ``result["ranks"]`` / ``result["per_user"]`` that name per-user files
PER_USER_KEYS = ("users", "test_masked", "test_unmasked")
USER_VALUE_FILES = {"users": "per_user_users.npy", "test_masked": "per_user_test_masked.npy",
                    "test_unmasked": "per_user_test_unmasked.npy"}


def peak_memory_mb(device: torch.device) -> float:
    """Peak CUDA memory allocated on ``device``, else the process's peak resident set, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux


def per_user_entry(values: dict[str, np.ndarray]) -> dict[str, Any]:
    """``result["per_user"]`` for the user-split test's per-user values (``{"users", name: (U,)}``)."""
    names = [name for name in values if name != "users"]
    return {**USER_VALUE_FILES, "metrics": names, "dtype": "float64", "num_users": int(len(values["users"]))}


def save_per_user_values(out_dir: Path, masked: dict[str, np.ndarray],
                         unmasked: dict[str, np.ndarray]) -> None:
    """Write :data:`USER_VALUE_FILES`: the users and a ``(U, M)`` matrix per test variant, atomically."""
    names = per_user_entry(masked)["metrics"]
    save_ranks(out_dir / USER_VALUE_FILES["users"], masked["users"])
    for key, values in (("test_masked", masked), ("test_unmasked", unmasked)):
        save_user_values(out_dir / USER_VALUE_FILES[key], np.stack([values[name] for name in names], axis=1))


def run_experiment(cfg: ExperimentConfig, dataset: SequenceDataset | None = None,
                   overwrite: bool = False) -> dict[str, Any]:
    """Run one experiment and write ``<output_dir>/result.json`` (see the module docstring).

    Args:
        cfg: the experiment.
        dataset: use this dataset instead of loading ``cfg.data``.
        overwrite: replace an earlier run in ``cfg.output_dir`` (only a folder graphrec
            made; without it such a folder is refused unless ``train.resume`` is set).

    Returns:
        The result dict written to ``result.json`` (identical on every rank).
    """
    with distributed.process_group(cfg.train.device) as info:
        return _run(cfg, dataset, info, overwrite)


def _inside(out_dir: Path, path: str | None, key: str) -> str | None:
    """A configured output path, relative to the run folder, refused when it leaves it."""
    if path is None:
        return None
    resolved = Path(path) if Path(path).is_absolute() else out_dir / path
    check_inside(out_dir, resolved, key)
    return str(resolved)


def reserved_names() -> tuple[str, ...]:
    """The run folder's own entries: the result, the marker and lock, the per-user files."""
    return (RESULT_FILE, MARKER, LOCK, *RANK_FILES.values(), *USER_VALUE_FILES.values())


def check_reserved_outputs(out_dir: Path, tcfg: TrainConfig) -> None:
    """Refuse a log file or TensorBoard folder that would overwrite the run's own files."""
    reserved = {(out_dir / name).resolve() for name in reserved_names()}
    checkpoints = Path(str(tcfg.checkpoint_dir)).resolve()
    if checkpoints in reserved or checkpoints == out_dir.resolve():
        raise OutputError(f"train.checkpoint_dir = {tcfg.checkpoint_dir}: names the run folder or one of "
                          "its own files; use a folder inside the run such as checkpoints")
    for key, value in (("train.log_file", tcfg.log_file), ("train.tensorboard_dir", tcfg.tensorboard_dir)):
        if value is None:
            continue
        path = Path(value).resolve()
        if path in reserved or path == out_dir.resolve() or is_inside(path, checkpoints):
            raise OutputError(f"{key} = {value}: would overwrite the run's own files (its result, marker, "
                              "lock, per-user files or checkpoints); choose another name in the run folder")


def _run(cfg: ExperimentConfig, dataset: SequenceDataset | None, info: distributed.DistInfo,
         overwrite: bool) -> dict[str, Any]:
    tcfg = cfg.train
    out_dir = Path(cfg.output_dir)
    protocol = resolve_protocol(cfg.protocol)
    if tcfg.num_threads > 0:
        torch.set_num_threads(tcfg.num_threads)
    tcfg = tcfg.replace(
        checkpoint_dir=_inside(out_dir, tcfg.checkpoint_dir or "checkpoints", "train.checkpoint_dir"),
        log_file=_inside(out_dir, tcfg.log_file or "train.jsonl", "train.log_file"),
        tensorboard_dir=_inside(out_dir, tcfg.tensorboard_dir, "train.tensorboard_dir"),
        metric=tcfg.metric or protocol.default_metric,
    )
    check_reserved_outputs(out_dir, tcfg)
    protocol.check_metric(str(tcfg.metric), cfg.protocol_options)
    device = resolve_device(tcfg.device, info)
    inputs = [cfg.data] if dataset is None and cfg.data != "synthetic" else []
    earlier = check_output_dir(out_dir, "run", overwrite=overwrite, resume=tcfg.resume, inputs=inputs)
    last = Path(str(tcfg.checkpoint_dir)) / LAST
    if earlier and tcfg.resume and not last.is_file():
        raise OutputError(f"--resume {out_dir}: there is no {last} to continue from, so resuming would "
                          "start another experiment over this run; pass --overwrite (without --resume) "
                          "to start over, or choose a new folder")
    check_no_leftover(out_dir)
    prepared = prepare(cfg, device, dataset, seed=tcfg.seed, protocol=protocol)
    lock = RunLock(out_dir)
    replacement: Replacement | None = None
    created = False
    start_error: BaseException | None = None
    if info.is_main:  # the lock first: a folder another process trains into is never emptied
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
            if earlier and overwrite and not tcfg.resume:  # set the old run aside, delete it later
                replacement = Replacement(out_dir)
                replacement.begin()
            claim_output_dir(out_dir, "run", overwrite=overwrite, resume=tcfg.resume, inputs=inputs)
            record_outputs(out_dir, _run_outputs(out_dir, tcfg))
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the other ranks hear of it
            lock.release()
            if created:
                shutil.rmtree(out_dir, ignore_errors=True)
            start_error = exc
    # every rank learns whether rank 0 could start, so no rank waits in a collective that never comes
    refused = distributed.broadcast_object(None if start_error is None else str(start_error), info)
    if start_error is not None:
        raise start_error
    if refused is not None:
        raise OutputError(f"rank 0 could not start the run: {refused}")
    commit = replacement.commit if replacement is not None else None
    try:
        result = _train_and_record(cfg, tcfg, prepared, device, info,
                                   on_epoch_end=(lambda record: commit()) if commit else None)
    except BaseException:
        if replacement is not None:
            replacement.rollback()  # no-op once the new run has written a checkpoint
        elif created and not last.is_file():  # a failed start leaves no folder behind
            lock.release()
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        lock.release()
    if replacement is not None:
        replacement.commit()
    return result


def _run_outputs(out_dir: Path, tcfg: TrainConfig) -> list[str]:
    """The top-level entries a run writes into ``out_dir`` (recorded in its marker)."""
    names = [RESULT_FILE, *RANK_FILES.values(), *USER_VALUE_FILES.values()]
    for path in (tcfg.log_file, tcfg.checkpoint_dir, tcfg.tensorboard_dir):
        if path is not None:
            names.append(str(Path(path).resolve().relative_to(out_dir.resolve())))
    return names


def _train_and_record(cfg: ExperimentConfig, tcfg: TrainConfig, prepared: Prepared,
                      device: torch.device, info: distributed.DistInfo,
                      on_epoch_end: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    out_dir = Path(cfg.output_dir)
    protocol, data, split, model = prepared.protocol, prepared.dataset, prepared.split, prepared.model
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    tests: dict[bool, Evaluation] = {}  # mask_history -> the test's evaluation (per-user outcomes, beyond)

    def evaluator(m: SequentialRecommender, which: str, mask: bool | None = None) -> dict[str, Any]:
        masked = cfg.mask_history_eval if mask is None else mask
        test = which == "test"  # the test also keeps per-user outcomes and its top-N lists' beyond-accuracy
        evaluation = protocol.evaluate(m, split, which, batch_size=tcfg.eval_batch_size, mask_history=masked,
                                       device=device, options=cfg.protocol_options, per_user=test,
                                       beyond_accuracy=test)
        if test:
            tests[masked] = evaluation
        return evaluation.metrics

    metadata = {"experiment": cfg.to_dict(), "num_items": split.num_items, "data_checksum": data.checksum()}
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):  # resolved options, defaults included
        metadata["model_config"] = config.to_dict()
    trainer = Trainer(model, split, tcfg, evaluator=evaluator,
                      metadata=metadata, dist_info=info, on_epoch_end=on_epoch_end)
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
        "load_seconds": prepared.load_seconds,
        "peak_memory_mb": peak_memory_mb(device),
        "world_size": info.world_size,
        "device": str(device),
        "environment": {"graphrec": graphrec.__version__, "torch": torch.__version__,
                        "python": platform.python_version()},
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": str(Path(tcfg.checkpoint_dir or "") / BEST),
        "config": cfg.to_dict(),
    }
    for key, masked_flag in (("test_masked", True), ("test_unmasked", False)):
        beyond = tests[masked_flag].beyond if masked_flag in tests else None
        if beyond is not None:  # Novelty@N, CategoryShare@N, Coverage@N of the top-N lists
            result["metrics"][f"{key}_beyond"] = beyond
    masked_test, unmasked_test = tests.get(True), tests.get(False)
    ranks = (masked_test.ranks, unmasked_test.ranks) if masked_test and unmasked_test else (None, None)
    values = (masked_test.per_user, unmasked_test.per_user) if masked_test and unmasked_test else (None, None)
    if ranks[0] is not None and ranks[1] is not None:  # leave-one-out: one rank per user
        head = head_users(split)
        ks = protocol.evaluation_options(cfg.protocol_options).get("ks") or DEFAULT_KS
        for key, test_ranks in (("test_masked", ranks[0]), ("test_unmasked", ranks[1])):
            result["metrics"][f"{key}_by_group"] = metrics_by_group(test_ranks, split.eval_users, head, ks)
        result["ranks"] = {**RANK_FILES, "base": 1, "dtype": "int32", "num_users": int(len(split.eval_users))}
    if values[0] is not None and values[1] is not None:  # user split: every user's metric values
        result["per_user"] = per_user_entry(values[0])
    if info.is_main:
        if ranks[0] is not None and ranks[1] is not None:  # ranks first: result.json names files that exist
            save_ranks(out_dir / RANK_FILES["users"], split.eval_users)
            save_ranks(out_dir / RANK_FILES["test_masked"], ranks[0])
            save_ranks(out_dir / RANK_FILES["test_unmasked"], ranks[1])
        if values[0] is not None and values[1] is not None:  # likewise the per-user values first
            save_per_user_values(out_dir, values[0], values[1])
        for entry in (result.get("ranks"), result.get("per_user")):  # checksums: compare verifies them
            if isinstance(entry, dict):
                entry["sha256"] = {entry[key]: file_sha256(out_dir / entry[key]) for key in PER_USER_KEYS
                                   if isinstance(entry.get(key), str) and (out_dir / entry[key]).is_file()}
        write_json_atomic(out_dir / RESULT_FILE, result)
    return result


__all__ = [
    "PROTOCOLS",
    "RANK_FILES",
    "USER_VALUE_FILES",
    "ExperimentConfig",
    "LoadedRun",
    "EvaluationProtocol",
    "Evaluation",
    "build_experiment_config",
    "build_model",
    "evaluate_checkpoint",
    "load_data",
    "load_run",
    "peak_memory_mb",
    "per_user_entry",
    "resolve_protocol",
    "run_experiment",
    "save_per_user_values",
]
