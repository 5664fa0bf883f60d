"""Data-parallel training under ``torchrun`` (DDP): process group, sharding, reductions.

The same code runs in one process and under
``torchrun --nproc_per_node=N -m graphrec ...``: :func:`init_distributed` reads
the ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` variables that ``torchrun`` sets
and starts a process group (``nccl`` for CUDA devices, ``gloo`` for CPU); with
none set it returns a single-process :class:`DistInfo` and nothing else changes.

Scheme (see :class:`graphrec.train.trainer.Trainer`):

* every rank draws the same seeded permutation of the training rows and cuts the
  same global batches; rank ``r`` trains on the slice ``batch[r::W]``;
* each rank's loss is scaled so that DDP's gradient *average* equals the gradient
  of the single-process mean over the global batch (:func:`loss_scale`);
* evaluation shards users ``rows[r::W]``; metric sums are all-reduced once, so
  every rank sees identical metrics and makes identical early-stopping decisions;
* only rank 0 writes checkpoints, logs and progress bars.

Reference: Li et al., "PyTorch Distributed: Experiences on Accelerating Data
Parallel Training", VLDB 2020.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes:
        rank / world_size / local_rank: as set by ``torchrun`` (0 / 1 / 0 alone).
        device: the device this rank computes on (``cuda:<local_rank>`` under DDP on GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when not launched by ``torchrun``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(device: str = "cpu") -> DistInfo:
    """Start (or join) the process group described by the ``torchrun`` env vars.

    Args:
        device: the requested device; ``"cuda"`` becomes ``cuda:<LOCAL_RANK>`` under
            DDP, ``"auto"`` picks CUDA when available.

    Returns:
        The :class:`DistInfo` of this process. Calling it again reuses the group.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    world = env_world_size()
    if world <= 1 and not dist.is_initialized():
        return DistInfo(device=device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend, init_method="env://")
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                    device=device)


def current() -> DistInfo:
    """The :class:`DistInfo` of an already initialised group (single process otherwise)."""
    if dist.is_available() and dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = f"cuda:{local_rank}" if dist.get_backend() == "nccl" else "cpu"
        return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                        local_rank=local_rank, device=device)
    return DistInfo()


def cleanup(synchronize: bool = True) -> None:
    """Destroy the process group if one was started.

    First the cyclic garbage is collected: a finished trainer's DDP wrapper sits in a
    reference cycle and holds the group; left to the interpreter's final collection,
    the gloo worker threads outlive the group and abort the process at exit
    ("terminate called without an active exception"). With ``synchronize`` (a normal
    exit) every rank then waits at a barrier, so that no rank tears its connections
    down while a peer is still on the wire. On the way out of an error pass
    ``synchronize=False``: the other ranks may never reach the barrier.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        if synchronize:
            dist.barrier()
        dist.destroy_process_group()


@contextmanager
def process_group(device: str = "cpu") -> Iterator[DistInfo]:
    """:func:`init_distributed` for the body of a ``with``, then :func:`cleanup`.

    A group that was already running when the block began is left running. On a
    normal exit the ranks meet at a barrier before the group is destroyed; on an
    error it is destroyed at once (see :func:`cleanup`).
    """
    started = not (dist.is_available() and dist.is_initialized())
    info = init_distributed(device)
    try:
        yield info
    except BaseException:
        if started:
            cleanup(synchronize=False)
        raise
    if started:
        cleanup()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shard(rows: np.ndarray, info: DistInfo) -> np.ndarray:
    """This rank's strided slice ``rows[rank::world_size]`` (all rows alone)."""
    return rows[info.rank :: info.world_size] if info.is_distributed else rows


def loss_scale(local_count: float, global_count: float, info: DistInfo) -> float:
    """Factor that makes DDP's gradient average reproduce the single-process mean.

    A loss that is a mean over the ``P_r`` positions of rank ``r``'s slice,
    :math:`L_r = \\frac{1}{P_r}\\sum_{i \\in r} \\ell_i`, is multiplied by
    :math:`W P_r / P` (``P`` = positions in the global batch). DDP averages the
    gradients over the ``W`` ranks, giving

    .. math::

        \\frac{1}{W}\\sum_r \\frac{W P_r}{P} \\nabla L_r = \\frac{1}{P}\\sum_i \\nabla \\ell_i,

    the gradient of the mean over the global batch. Alone the factor is 1.
    """
    if global_count <= 0:
        return 0.0
    return info.world_size * float(local_count) / float(global_count)


def all_reduce_sums(values: Mapping[str, float], info: DistInfo | None = None,
                    device: str | torch.device = "cpu") -> dict[str, float]:
    """Sum a dict of floats over all ranks (float64; identity alone)."""
    info = info or current()
    if not info.is_distributed:
        return {k: float(v) for k, v in values.items()}
    keys = sorted(values)
    if info.device.startswith("cuda"):
        device = info.device
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    reduced = dict(zip(keys, tensor.cpu().tolist(), strict=True))
    return {k: reduced[k] for k in values}


def all_reduce_max(value: float, info: DistInfo | None = None) -> float:
    """Maximum of a float over all ranks (e.g. wall time of the slowest rank)."""
    info = info or current()
    if not info.is_distributed:
        return float(value)
    device = info.device if info.device.startswith("cuda") else "cpu"
    tensor = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return float(tensor.item())


def gather_objects(obj: Any, info: DistInfo | None = None) -> list[Any]:
    """``[obj_rank0, obj_rank1, ...]`` on every rank (``[obj]`` alone)."""
    info = info or current()
    if not info.is_distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, info: DistInfo | None = None, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    info = info or current()
    if not info.is_distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def resolve_device(device: str, info: DistInfo) -> torch.device:
    """``"auto"`` -> CUDA when available; under DDP on CUDA the rank's own device.

    Raises:
        ValueError: for a device name torch does not know, or a CUDA device on a
            machine without one.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"train.device = {device!r} is not a device; "
                         "use auto, cpu, cuda or cuda:N") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"train.device = {device!r}: graphrec runs on cpu or cuda (auto picks cuda "
                         "when it is available)")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"train.device = {device!r} but CUDA is not available on this machine; "
                             "use --device cpu (or auto)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"train.device = {device!r} but this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
        if info.is_distributed:
            return torch.device(info.device)
    return resolved


def wrap_ddp(module: nn.Module, info: DistInfo, find_unused_parameters: bool = False) -> nn.Module:
    """Wrap ``module`` in ``DistributedDataParallel`` under DDP (returned as is alone).

    Parameters are broadcast from rank 0 when wrapping, so all ranks start equal.
    Inputs must already be on this rank's device (``device_ids=None``: one device
    per process).
    """
    if not info.is_distributed:
        return module
    return nn.parallel.DistributedDataParallel(module, device_ids=None,
                                               find_unused_parameters=find_unused_parameters)


__all__ = [
    "DistInfo",
    "all_reduce_max",
    "all_reduce_sums",
    "barrier",
    "broadcast_object",
    "cleanup",
    "current",
    "env_world_size",
    "gather_objects",
    "init_distributed",
    "loss_scale",
    "process_group",
    "resolve_device",
    "shard",
    "wrap_ddp",
]
