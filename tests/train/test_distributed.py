"""DDP on CPU (gloo, 2 processes) reproduces the single-process run; helper math."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphrec.distributed import DistInfo, init_distributed, loss_scale, shard

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_loss_scale_reproduces_global_mean() -> None:
    # per-position losses of a global batch split over 2 ranks with 3 and 1 positions
    losses = np.array([1.0, 2.0, 3.0, 10.0])
    parts = [losses[:3], losses[3:]]
    info = DistInfo(rank=0, world_size=2)
    ddp = np.mean([loss_scale(len(p), 4, info) * p.mean() for p in parts])  # DDP averages
    assert ddp == pytest.approx(losses.mean())
    assert loss_scale(5, 5, DistInfo()) == 1.0 and loss_scale(0, 0, info) == 0.0


def test_shard_is_disjoint_and_covering() -> None:
    rows = np.arange(11)
    parts = [shard(rows, DistInfo(rank=r, world_size=3)) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == rows.tolist()
    assert shard(rows, DistInfo()).tolist() == rows.tolist()


def test_single_process_without_env() -> None:
    if "WORLD_SIZE" in os.environ:
        pytest.skip("running under a distributed launcher")
    info = init_distributed("cpu")
    assert info == DistInfo() and not info.is_distributed and info.is_main


def _run(args: list[str], out: Path, *worker_args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, *args, str(WORKER), str(out), *worker_args]
    for _attempt in range(3):  # retries: the rendezvous port can race with other jobs on the host
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
        if proc.returncode == 0:
            break
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_cpu_processes_match_single_process(tmp_path: Path) -> None:
    single = _run([], tmp_path / "single.json")
    ddp = _run(["-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"], tmp_path / "ddp.json")
    assert single["world_size"] == 1 and ddp["world_size"] == 2
    assert ddp["best_epoch"] == single["best_epoch"]
    assert ddp["losses"] == pytest.approx(single["losses"], abs=1e-4)
    for which in ("valid", "test"):
        assert ddp[which]["num_users"] == single[which]["num_users"]
        for key in ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"):
            assert ddp[which][key] == pytest.approx(single[which][key], abs=1e-4), (which, key)


def test_per_row_and_in_batch_terms_match_their_single_process_twin(tmp_path: Path) -> None:
    """Two ranks, a per-row term and an in-batch-negatives InfoNCE: equal to one process that
    computes the InfoNCE on the same two row slices separately (the negatives of a row are the
    rows of its rank) and weights them by rows; per-row terms are exact means over the batch."""
    twin = _run([], tmp_path / "single.json", "intent", "2")
    ddp = _run(["-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"], tmp_path / "ddp.json",
               "intent", "1")
    assert twin["world_size"] == 1 and ddp["world_size"] == 2
    for ours, theirs in zip(ddp["terms"], twin["terms"], strict=True):
        assert set(ours) == {"loss/ce", "loss/norm", "loss/intent", "loss/cl"}
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], abs=1e-4), key
    assert ddp["losses"] == pytest.approx(twin["losses"], abs=1e-4)
    for key in ("HR@10", "NDCG@10", "MRR"):
        assert ddp["test"][key] == pytest.approx(twin["test"][key], abs=1e-4), key
    # and the twin is not the whole-batch loss: one process with global in-batch negatives differs
    whole = _run([], tmp_path / "whole.json", "intent", "1")
    assert whole["terms"][0]["loss/cl"] != pytest.approx(twin["terms"][0]["loss/cl"], abs=1e-4)


def test_cleanup_frees_a_ddp_wrapper_left_in_a_reference_cycle(tmp_path: Path) -> None:
    """A DDP wrapper in a reference cycle is freed before the group is destroyed (left to the
    interpreter's final collection, gloo's threads outlive the group and abort the process)."""
    import gc
    import weakref

    import torch.distributed as dist
    from torch import nn

    from graphrec import distributed

    if dist.is_initialized():
        pytest.skip("a process group is already running")
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    gc.disable()  # keep the cycle alive until cleanup's own collection
    try:
        holder: dict = {"ddp": nn.parallel.DistributedDataParallel(nn.Linear(2, 2))}
        holder["self"] = holder  # the cycle
        ref = weakref.ref(holder["ddp"])
        del holder
        assert ref() is not None
        distributed.cleanup()
        assert ref() is None and not dist.is_initialized()
    finally:
        gc.enable()
        if dist.is_initialized():
            dist.destroy_process_group()


def test_a_refused_start_on_rank_0_is_one_line_on_every_rank(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / ".graphrec").write_text('{"kind": "run", "made_by": "graphrec"}\n')
    (out / ".graphrec.lock").write_text(f"{os.getppid()}\n")  # a live process (this test's parent) holds it
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "graphrec.cli", "train", "--data", "synthetic", "--out", str(out), "--epochs", "1",
               "--no-progress", "data_options.num_users=40", "data_options.num_items=30",
               "model.hidden_size=8"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "another graphrec process" in output  # rank 0's own error
    assert "rank 0 could not start the run" in output  # rank 1 hears of it instead of hanging
    assert "gloo" not in output.lower() and "graphrec/experiment" not in output, output[-3000:]
