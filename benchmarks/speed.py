"""Speed of the hot paths on a real dataset: full-ranking evaluation and training epochs.

Usage (from the repository root; run it alone on the machine, timings are wall clock)::

    python benchmarks/speed.py --data ../shared/data/amazon-beauty

Measures

* the machine's fp32 matmul throughput (square 2048 matrices, and the
  ``(positions x D) @ (D x items)`` shape of the softmax, which is bound by
  memory traffic rather than arithmetic);
* full-ranking leave-one-out evaluation of **all** users (test split, unmasked
  and history-masked): seconds and users/s;
* one SASRec training epoch over all training positions (2 layers, d = 64,
  batch 256, L = 50) with full softmax cross-entropy over all items, sampled
  softmax (256 shared negatives) and BCE (one negative): seconds, sequences/s,
  and for full CE the achieved GFLOP/s of the softmax matmuls
  (``3 x 2 x P x (N + 1) x D`` FLOPs per epoch: logits, and the two gradient
  products) beside the machine's measured throughput.

Writes ``benchmarks/results/speed_<dataset>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import matmul_gflops, peak_memory_mib, write_record  # noqa: E402

from graphrec.data.load import load_dataset  # noqa: E402
from graphrec.data.loo import LeaveOneOutSplit  # noqa: E402
from graphrec.eval.loo import evaluate_loo  # noqa: E402
from graphrec.models.sasrec import SASRec  # noqa: E402


def softmax_shaped_gflops(positions: int, dim: int, items: int, repeats: int = 3) -> float:
    """fp32 throughput of ``(P, D) @ (D, N)`` — the logits matmul of full cross-entropy."""
    a, b = torch.randn(positions, dim), torch.randn(items, dim)
    a @ b.T
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b.T
        best = min(best, time.perf_counter() - start)
    return 2 * positions * dim * items / best / 1e9


def time_epoch(split: LeaveOneOutSplit, loss: str, batch_size: int, seed: int) -> dict[str, float]:
    """One epoch of SASRec training (forward, backward, Adam step) over all training rows."""
    torch.manual_seed(seed)
    model = SASRec(split.num_items, loss=loss, num_negatives=1 if loss == "bce" else 256)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(seed).permutation(split.num_train_rows)
    model.train()
    start = time.perf_counter()
    for begin in range(0, len(order), batch_size):
        batch = split.train_batch(order[begin:begin + batch_size])
        total = sum(model.loss_terms(batch).values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "seq_per_s": round(split.num_train_rows / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/amazon-beauty")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--name", default=None, help="record name (default speed_<dataset>)")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.data)
    split = LeaveOneOutSplit.build(dataset, max_len=50)
    positions = int((split.train_targets > 0).sum())
    num_scored = split.num_items + 1
    dim = 64
    machine = {
        "matmul_gflops_square_2048": round(matmul_gflops(), 1),
        "matmul_gflops_softmax_shape": round(softmax_shaped_gflops(4096, dim, num_scored), 1),
    }
    print("machine", machine, flush=True)

    torch.manual_seed(args.seed)
    model = SASRec(split.num_items)
    evaluation = {}
    for masked in (False, True):
        evaluate_loo(model, split, "test", rows=np.arange(1024), mask_history=masked)  # warm-up
        metrics = evaluate_loo(model, split, "test", mask_history=masked)
        evaluation["masked" if masked else "unmasked"] = {
            "users": metrics["num_users"], "seconds": round(metrics["seconds"], 2),
            "users_per_s": round(metrics["users_per_s"], 1)}
    print("evaluation", evaluation, flush=True)

    training = {}
    for loss in ("ce", "sampled", "bce"):
        training[loss] = time_epoch(split, loss, args.batch_size, args.seed)
        print(loss, training[loss], flush=True)
    softmax_flops = 3 * 2 * positions * num_scored * dim
    training["ce"]["softmax_gflop_per_epoch"] = round(softmax_flops / 1e9, 1)
    training["ce"]["achieved_softmax_gflops_if_all_time"] = round(
        softmax_flops / training["ce"]["seconds"] / 1e9, 1)

    name = args.name or f"speed_{Path(args.data.rstrip('/')).name}"
    record = {
        "kind": "speed",
        "dataset": Path(args.data.rstrip("/")).name,
        "protocol": "loo",
        "seed": args.seed,
        "data_checksum": dataset.checksum(),
        "train_rows": split.num_train_rows,
        "train_positions": positions,
        "num_items": split.num_items,
        "model": {"name": "sasrec", "hidden_size": dim, "num_layers": 2, "max_len": 50,
                  "batch_size": args.batch_size},
        "machine_throughput": machine,
        "evaluation": evaluation,
        "training_epoch": training,
        "peak_memory_mib": peak_memory_mib(),
    }
    print(f"wrote {write_record(name, record)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
