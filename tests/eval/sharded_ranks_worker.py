"""Script run alone or under ``torch.distributed.run``: leave-one-out ranks with ``shard=True``.

``python sharded_ranks_worker.py OUT.json`` scores a fixed random dataset with a fixed
random score table (no ties) and writes, from rank 0, the world size, the metrics and
the per-user ranks that :func:`graphrec.eval.loo.evaluate_loo` returned.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import evaluate_loo


class TableScorer:
    """Scores of all items = a fixed random row chosen by the last input item."""

    def __init__(self, num_items: int, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.table = torch.rand(num_items + 1, num_items + 1, generator=generator)  # (N + 1, N + 1)

    def score_all(self, batch: SeqBatch) -> Tensor:
        return self.table[batch.input_ids[:, -1]]  # (B, N + 1)


def make_split(num_users: int = 41, num_items: int = 30, seed: int = 3) -> LeaveOneOutSplit:
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(1, num_items + 1, size=int(rng.integers(2, 9))) for _ in range(num_users)]
    return LeaveOneOutSplit.build(SequenceDataset.from_sequences(seqs, num_items=num_items), max_len=5)


def main(out: str) -> None:
    from graphrec import distributed

    torch.set_num_threads(1)
    with distributed.process_group("cpu") as info:
        split = make_split()
        model = TableScorer(split.num_items)
        result = evaluate_loo(model, split, "test", batch_size=4, shard=True, return_ranks=True,
                              mask_history=True)
        ranks = result.pop("ranks")
        if info.is_main:
            with open(out, "w") as fh:
                json.dump({"world_size": info.world_size, "metrics": result, "ranks": ranks.tolist()}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
