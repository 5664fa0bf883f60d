"""Time one SASRec training step (forward + backward) on a synthetic Beauty-sized batch.

Batch: 256 left-padded sequences of length 50 whose real lengths follow a
geometric-like distribution with mean about 9 (as Beauty's), over 12,101 items.
Prints ms/step for each next-item loss, and for full softmax on the same batch
packed into fewer rows (:func:`graphrec.data.packing.pack_batch`). The machine is
shared, so both the median and the minimum over steps are shown. Usage::

    python benchmarks/micro_sasrec_step.py [--steps 10] [--batch 256] [--items 12101]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.packing import pack_batch
from graphrec.models.sasrec import SASRec


def random_batch(batch: int, max_len: int, num_items: int, mean_len: float, gen: torch.Generator) -> SeqBatch:
    """Left-padded random sequences; lengths ~ 1 + Geometric, clipped to ``max_len``."""
    p = 1.0 / max(mean_len - 1.0, 1.0)
    u = torch.rand(batch, generator=gen).clamp_min(1e-12)
    lengths = (2 + (u.log() / torch.log1p(torch.tensor(-p))).floor()).clamp(2, max_len + 1).long()  # (B,)
    seq = torch.randint(1, num_items + 1, (batch, max_len + 1), generator=gen)  # (B, L + 1)
    cols = torch.arange(max_len + 1)
    seq = torch.where(cols >= max_len + 1 - lengths[:, None], seq, 0)  # left padding
    inputs, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    targets[inputs == 0] = 0
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(batch))


def time_step(model: SASRec, batch: SeqBatch, steps: int) -> tuple[float, float]:
    """(median, min) ms of one forward + backward; the min resists other load on the machine."""
    model.train()
    times = []
    for i in range(steps + 2):  # 2 warm-up steps
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        model.loss_terms(batch)["rec"].backward()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--items", type=int, default=12101)
    parser.add_argument("--mean-len", type=float, default=9.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    batch = random_batch(args.batch, args.max_len, args.items, args.mean_len, gen)
    positions = int((batch.target_ids > 0).sum())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}x{args.max_len}, "
          f"{positions} non-padding positions, {args.items} items")
    # Beauty: about 128k training positions per epoch
    epoch_steps = 128_000 / max(positions, 1)
    packed = pack_batch(batch)
    runs = [("ce", 256, batch), ("sampled", 256, batch), ("bce", 1, batch), ("ce", 256, packed)]
    for loss, negs, b in runs:
        model = SASRec(args.items, max_len=args.max_len, loss=loss, num_negatives=negs)
        median, best = time_step(model, b, args.steps)
        epoch_s = best * epoch_steps / 1e3
        rows = f"{b.input_ids.shape[0]} rows{' packed' if b.segment_ids is not None else ''}"
        print(f"loss={loss:<8} num_negatives={negs:<4} {rows:<16} median {median:7.1f} ms/step, "
              f"min {best:7.1f} ms/step (~{epoch_s:5.1f} s per Beauty epoch at the min)")


if __name__ == "__main__":
    main()
