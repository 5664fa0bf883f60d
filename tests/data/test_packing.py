"""Sequence packing: hand-worked layouts and exact round trips."""

from __future__ import annotations

import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.packing import next_fit_rows, pack_batch


def _batch(rows: list[list[int]], max_len: int) -> SeqBatch:
    inputs = torch.zeros(len(rows), max_len, dtype=torch.long)
    targets = torch.zeros(len(rows), max_len, dtype=torch.long)
    for r, seq in enumerate(rows):
        inputs[r, max_len - len(seq):] = torch.tensor(seq)
        targets[r, max_len - len(seq):] = torch.tensor(seq) * 10  # distinguishable targets
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(len(rows)))


def test_next_fit_rows_hand_worked() -> None:
    # capacity 5: [3,2] fill row 0, [4,1] row 1, [1,3] row 2, [5] row 3
    lengths = torch.tensor([3, 2, 4, 1, 1, 3, 5])
    assert next_fit_rows(lengths, 5).tolist() == [0, 0, 1, 1, 2, 2, 3]


def test_pack_batch_layout_hand_worked() -> None:
    batch = _batch([[1, 2, 3], [4, 5], [6, 7, 8, 9]], max_len=5)
    packed = pack_batch(batch)
    assert packed.input_ids.tolist() == [[1, 2, 3, 4, 5], [0, 6, 7, 8, 9]]
    assert packed.target_ids.tolist() == [[10, 20, 30, 40, 50], [0, 60, 70, 80, 90]]
    assert packed.segment_ids.tolist() == [[1, 1, 1, 2, 2], [0, 3, 3, 3, 3]]
    # each item keeps the position it had in its own left-padded row of length 5
    assert packed.position_ids.tolist() == [[2, 3, 4, 3, 4], [0, 1, 2, 3, 4]]
    assert packed.user_ids.tolist() == [0, 1, 2]


def test_pack_batch_keeps_every_token_once() -> None:
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 13, (64,), generator=gen)
    rows = [torch.randint(1, 100, (int(n),), generator=gen).tolist() for n in lengths]
    batch = _batch(rows, max_len=12)
    packed = pack_batch(batch)
    assert packed.input_ids.shape[0] < 64
    for seg, seq in enumerate(rows, start=1):
        mask = packed.segment_ids == seg
        assert packed.input_ids[mask].tolist() == seq
        assert packed.position_ids[mask].tolist() == list(range(12 - len(seq), 12))
    assert int((packed.input_ids > 0).sum()) == int(lengths.sum())
    # rows stay left-padded: no padding after the first real column
    for row in packed.segment_ids:
        real = (row > 0).nonzero()
        assert bool((row[int(real[0]):] > 0).all())
