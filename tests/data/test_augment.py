"""Sequence augmentations: validity, exact counts, ratio limits, determinism, correlated-item table."""

from collections.abc import Callable
from itertools import permutations

import numpy as np
import pytest
import torch
from torch import Tensor

from graphrec.data import augment as A
from graphrec.data.augment import (
    OPERATIONS,
    AugmentConfig,
    crop,
    insert,
    item_shuffle,
    mask,
    random_augment,
    random_insert,
    random_prefixes,
    reorder,
    span_crop,
    substitute,
    two_views,
)
from graphrec.data.similar_items import build_similar_items

# items 1..6; row 1 is full, row 3 has one item, row 4 is empty
BATCH = torch.tensor([
    [0, 0, 1, 2, 3, 4],
    [1, 2, 3, 4, 5, 6],
    [0, 0, 0, 5, 2, 6],
    [0, 0, 0, 0, 0, 3],
    [0, 0, 0, 0, 0, 0],
])
NUM_ITEMS = 6
MASK_ID = NUM_ITEMS + 1
POOL = torch.tensor([3, 3, 5, 9])  # items of training interactions (random_insert draws from them)
# correlated items 8..10 only, never the item itself: every substitution / insertion is visible
SIMILAR = torch.tensor([[0, 0]] + [[8 + i % 3, 8 + (i + 1) % 3] for i in range(1, NUM_ITEMS + 1)]
                       + [[8, 9], [9, 10], [8, 10], [9, 8]])  # rows 7..10 (mask id, extra items)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _real(row: Tensor) -> list[int]:
    return row[row > 0].tolist()


def assert_valid(out: Tensor, inp: Tensor) -> None:
    """Shape, dtype, left padding, no zero among real items, emptiness preserved."""
    assert out.shape == inp.shape and out.dtype == torch.long
    real = out > 0
    assert torch.all(real[:, 1:] >= real[:, :-1])  # once real, real until the newest column
    assert torch.equal(real.any(dim=1), (inp > 0).any(dim=1))


OPS: dict[str, Callable[[Tensor, float, torch.Generator], Tensor]] = {
    "crop": lambda x, r, g: crop(x, r, g),
    "mask": lambda x, r, g: mask(x, r, MASK_ID, g),
    "reorder": lambda x, r, g: reorder(x, r, g),
    "insert": lambda x, r, g: insert(x, r, SIMILAR, g),
    "substitute": lambda x, r, g: substitute(x, r, SIMILAR, g),
    "item_shuffle": lambda x, r, g: item_shuffle(x, g),
    "span_crop": lambda x, r, g: span_crop(x, r, g),
    "random_insert": lambda x, r, g: random_insert(x, r, POOL, g),
}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 1.0])
def test_every_operation_returns_a_valid_batch(name: str, ratio: float) -> None:
    for seed in range(20):
        out = OPS[name](BATCH, ratio, _gen(seed))
        assert_valid(out, BATCH)
    assert set(OPS) == set(OPERATIONS)


def test_crop_is_a_contiguous_window_of_the_right_length() -> None:
    seen = set()
    for seed in range(200):
        out = crop(BATCH, 0.5, _gen(seed))
        for row_in, row_out in zip(BATCH, out):
            items, cropped = _real(row_in), _real(row_out)
            n = len(items)
            assert len(cropped) == (max(1, n // 2) if n else 0)
            starts = [s for s in range(n - len(cropped) + 1) if items[s:s + len(cropped)] == cropped]
            assert starts or n == 0
        seen.add(tuple(_real(out[1])))
    assert seen == {(1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 6)}  # every window, the last one included


def test_crop_ratio_limits() -> None:
    assert torch.equal(crop(BATCH, 1.0, _gen(0)), BATCH)
    out = crop(BATCH, 0.0, _gen(0))  # one item kept per non-empty row
    assert (out > 0).sum(dim=1).tolist() == [1, 1, 1, 1, 0]
    # floor(0.7 * 10) = 7 in double precision (0.7 * 10 = 7.000000000000001)
    row = torch.arange(1, 11).unsqueeze(0)  # (1, 10)
    assert int((crop(row, 0.7, _gen(0)) > 0).sum()) == 7


def test_mask_count_exact_and_only_at_real_positions() -> None:
    for seed in range(30):
        out = mask(BATCH, 0.5, MASK_ID, _gen(seed))
        masked = out == MASK_ID
        assert masked.sum(dim=1).tolist() == [2, 3, 1, 0, 0]  # floor(0.5 * n), n = 4, 6, 3, 1, 0
        assert torch.all(BATCH[masked] > 0)
        assert torch.equal(out[~masked], BATCH[~masked])
    assert torch.equal(mask(BATCH, 0.0, MASK_ID, _gen(0)), BATCH)
    assert torch.equal(mask(BATCH, 1.0, MASK_ID, _gen(0)), torch.where(BATCH > 0, MASK_ID, 0))


def test_reorder_permutes_only_a_window() -> None:
    for seed in range(50):
        out = reorder(BATCH, 0.5, _gen(seed))
        for row_in, row_out in zip(BATCH, out):
            assert sorted(_real(row_in)) == sorted(_real(row_out))
            moved = (row_in != row_out).nonzero().flatten().tolist()
            m = int((row_in > 0).sum()) // 2
            assert not moved or moved[-1] - moved[0] < m  # changes stay inside m consecutive columns
    assert torch.equal(reorder(BATCH, 0.0, _gen(0)), BATCH)
    whole = {tuple(reorder(BATCH[3:4], 1.0, _gen(s))[0].tolist()) for s in range(5)}
    assert whole == {(0, 0, 0, 0, 0, 3)}  # a length-1 row cannot change


def test_item_shuffle_draws_every_permutation() -> None:
    seen = set()
    for seed in range(100):
        out = item_shuffle(BATCH, _gen(seed))
        assert torch.equal(out > 0, BATCH > 0)
        for row_in, row_out in zip(BATCH, out):
            assert sorted(_real(row_in)) == sorted(_real(row_out))
        seen.add(tuple(_real(out[2])))
    assert seen == set(permutations([5, 2, 6]))


def test_substitute_uses_the_similar_items_table() -> None:
    for seed in range(30):
        out = substitute(BATCH, 0.5, SIMILAR, _gen(seed))
        changed = out != BATCH
        assert changed.sum(dim=1).tolist() == [2, 3, 1, 0, 0]
        for item, new in zip(BATCH[changed].tolist(), out[changed].tolist()):
            assert new in SIMILAR[item].tolist()
    assert torch.equal(substitute(BATCH, 0.0, SIMILAR, _gen(0)), BATCH)
    assert torch.all(substitute(BATCH, 1.0, SIMILAR, _gen(0))[BATCH > 0] >= 8)


def test_insert_places_correlated_items_before_chosen_ones() -> None:
    length = BATCH.shape[1]
    for ratio in (0.5, 1.0):
        for seed in range(30):
            out = insert(BATCH, ratio, SIMILAR, _gen(seed))
            for row_in, row_out in zip(BATCH, out):
                items, got = _real(row_in), _real(row_out)
                n = len(items)
                assert len(got) == min(length, n + int(ratio * n))
                originals = [v for v in got if v <= NUM_ITEMS]
                assert originals == items[len(items) - len(originals):]  # the newest originals, in order
                for pos, v in enumerate(got):
                    if v > NUM_ITEMS:  # an inserted item precedes the item it correlates with
                        assert got[pos + 1] <= NUM_ITEMS and v in SIMILAR[got[pos + 1]].tolist()
    assert torch.equal(insert(BATCH, 0.0, SIMILAR, _gen(0)), BATCH)
    full = insert(BATCH[1:2], 1.0, SIMILAR, _gen(0))[0].tolist()
    assert full[1::2] == [4, 5, 6] and all(v >= 8 for v in full[0::2])  # newest L of 12 kept


@pytest.mark.parametrize("name", list(OPS))
def test_single_column_and_empty_batches(name: str) -> None:
    one = torch.tensor([[0], [4]])  # L = 1
    for ratio in (0.0, 1.0):
        out = OPS[name](one, ratio, _gen(0))
        assert_valid(out, one)
        assert out[0, 0] == 0
        if name not in ("mask", "substitute"):
            assert torch.equal(out, one)
    empty = torch.zeros(3, 4, dtype=torch.long)
    assert torch.equal(OPS[name](empty, 0.5, _gen(0)), empty)
    none = torch.zeros(0, 4, dtype=torch.long)
    assert OPS[name](none, 0.5, _gen(0)).shape == (0, 4)


@pytest.mark.parametrize("name", list(OPS))
def test_deterministic_under_a_seed(name: str) -> None:
    big = BATCH.repeat(8, 1)  # (40, 6)
    a = OPS[name](big, 0.5, _gen(7))
    b = OPS[name](big, 0.5, _gen(7))
    c = OPS[name](big, 0.5, _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_global_rng_without_a_generator() -> None:
    torch.manual_seed(0)
    a = crop(BATCH, 0.5)
    torch.manual_seed(0)
    assert torch.equal(a, crop(BATCH, 0.5))


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="ratio"):
        crop(BATCH, 1.5, _gen(0))
    with pytest.raises(ValueError, match="ratio"):
        mask(BATCH, -0.1, MASK_ID, _gen(0))
    with pytest.raises(ValueError, match="mask_id"):
        mask(BATCH, 0.5, 0, _gen(0))
    with pytest.raises(ValueError, match="int64"):
        reorder(BATCH.float(), 0.5, _gen(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rows"):
        substitute(BATCH, 0.5, SIMILAR[:4], _gen(0))
    with pytest.raises(ValueError, match="int64 table"):
        insert(BATCH, 0.5, SIMILAR[:, 0], _gen(0))


def test_random_augment_draws_one_operation_per_row() -> None:
    big = BATCH[:4].repeat(16, 1)  # (64, 6), no empty row
    keep: A.Augmentation = lambda x, g: x  # noqa: E731
    mask_all: A.Augmentation = lambda x, g: mask(x, 1.0, MASK_ID, g)  # noqa: E731
    out = random_augment(big, [keep, mask_all], _gen(0))
    unchanged = (out == big).all(dim=1)  # (64,)
    fully_masked = ((out == MASK_ID) == (big > 0)).all(dim=1)  # (64,)
    assert torch.all(unchanged ^ fully_masked)
    assert 10 < int(unchanged.sum()) < 54  # both operations are drawn
    assert torch.equal(random_augment(big, [keep, mask_all], _gen(0)), out)
    with pytest.raises(ValueError, match="at least one"):
        random_augment(big, [], _gen(0))


def test_two_views_are_independent_and_valid() -> None:
    ops = AugmentConfig(operations=OPERATIONS).build(mask_id=MASK_ID, similar_items=SIMILAR, item_pool=POOL)
    v1, v2 = two_views(BATCH.repeat(4, 1), ops, _gen(0))
    assert_valid(v1, BATCH.repeat(4, 1))
    assert_valid(v2, BATCH.repeat(4, 1))
    assert not torch.equal(v1, v2)
    w1, w2 = two_views(BATCH.repeat(4, 1), ops, _gen(0))
    assert torch.equal(v1, w1) and torch.equal(v2, w2)


def test_augment_config_from_plain_options() -> None:
    config = AugmentConfig.from_options({"operations": ["crop", "substitute"], "crop_ratio": 0.6})
    assert config.operations == ("crop", "substitute") and config.crop_ratio == 0.6
    assert config.needs_similar_items and not config.needs_mask_id
    assert AugmentConfig().operations == ("crop", "mask", "reorder")
    with pytest.raises(ValueError, match="valid"):
        AugmentConfig.from_options({"crop_rate": 0.6})
    with pytest.raises(ValueError, match="item_shuffle"):
        AugmentConfig(operations=("crop", "cutout"))
    with pytest.raises(ValueError, match="list of names"):
        AugmentConfig(operations="crop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ratio"):
        AugmentConfig(mask_ratio=2.0)
    with pytest.raises(ValueError, match="mask_id"):
        AugmentConfig().build()
    with pytest.raises(ValueError, match="similar_items"):
        config.build()
    ops = config.build(similar_items=SIMILAR)
    assert len(ops) == 2
    assert torch.equal(ops[0](BATCH, _gen(1)), crop(BATCH, 0.6, _gen(1)))
    assert torch.equal(ops[1](BATCH, _gen(1)), substitute(BATCH, 0.1, SIMILAR, _gen(1)))


def test_similar_items_hand_computed() -> None:
    # sequences [1, 2, 3] and [2, 3, 4]; window 1: c12 = 1, c23 = 2, c34 = 1; item 5 never co-occurs
    table = build_similar_items(np.array([0, 3, 6]), np.array([1, 2, 3, 2, 3, 4]), num_items=5, k=2, window=1)
    assert table.dtype == torch.long
    assert table.tolist() == [[0, 0], [2, 2], [3, 1], [2, 4], [3, 3], [5, 5]]
    # window 2 adds c13 = 1, c24 = 1: item 2 ties 1 and 4 (count 1) behind 3 (count 2)
    table = build_similar_items(torch.tensor([0, 3, 6]), torch.tensor([1, 2, 3, 2, 3, 4]), 5, k=3, window=2)
    assert table.tolist() == [[0, 0, 0], [2, 3, 2], [3, 1, 4], [2, 1, 4], [2, 3, 2], [5, 5, 5]]
    # no pair crosses a sequence boundary, and an item never pairs with itself
    table = build_similar_items([0, 2, 4], [1, 1, 2, 2], 2, k=1, window=3)
    assert table.tolist() == [[0], [1], [2]]
    assert build_similar_items([0], [], 3, k=1).tolist() == [[0], [1], [2], [3]]


def test_similar_items_bad_input() -> None:
    with pytest.raises(ValueError, match="1..5"):
        build_similar_items([0, 2], [1, 6], 5)
    with pytest.raises(ValueError, match="indptr"):
        build_similar_items([0, 3], [1, 2], 5)
    with pytest.raises(ValueError, match="k and window"):
        build_similar_items([0, 2], [1, 2], 5, k=0)


def test_random_prefixes_moved_unchanged() -> None:
    from graphrec.models import srgnn

    assert srgnn.random_prefixes is random_prefixes
    ids = torch.tensor([[0, 0, 1, 2, 3, 4], [0, 0, 0, 0, 7, 8], [0, 0, 0, 0, 0, 0]])
    targets = torch.tensor([[0, 0, 2, 3, 4, 5], [0, 0, 0, 0, 8, 9], [0, 0, 0, 0, 0, 0]])
    prefix, target = random_prefixes(ids, targets, cuts_per_row=3, generator=_gen(3))
    assert prefix.tolist() == [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 2],
                               [0, 0, 0, 0, 0, 7], [0, 0, 0, 0, 0, 7], [0, 0, 0, 0, 0, 7]]
    assert target.tolist() == [2, 2, 3, 8, 8, 8]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", list(OPS))
def test_cpu_generator_drives_a_gpu_batch_identically(name: str) -> None:
    cpu = OPS[name](BATCH, 0.5, _gen(5))
    gpu = OPS[name](BATCH.cuda(), 0.5, _gen(5))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    cuda_gen = torch.Generator(device="cuda").manual_seed(5)
    assert_valid(OPS[name](BATCH.cuda(), 0.5, cuda_gen).cpu(), BATCH)


# ----------------------------------------------------------------------------- S4Rec's Appendix A


def test_span_crop_keeps_the_newest_item_and_removes_exactly_the_share() -> None:
    rows = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0] * 11 + [4], [0] * 12])
    starts = set()
    for seed in range(40):
        out = span_crop(rows, 0.5, _gen(seed))
        kept = _real(out[0])
        removed = [v for v in range(1, 11) if v not in kept]
        assert len(removed) == 5 and kept[-1] == 10  # floor(.5 * 10) items removed, the newest kept
        assert removed == list(range(removed[0], removed[0] + 5))  # one contiguous span
        assert kept == sorted(kept)  # the rest in order: prefix then suffix
        starts.add(removed[0])
        assert out[1].tolist() == rows[1].tolist() and out[2].tolist() == rows[2].tolist()
    assert starts == {1, 2, 3, 4, 5}  # every span that leaves the newest item is drawn
    most = _real(span_crop(rows, 1.0, _gen(0))[0])
    assert most == [10]  # at most n - 1 items go


def test_random_insert_only_adds_training_items() -> None:
    pool = torch.tensor([7, 7, 8])  # the training interactions' items
    rows = torch.tensor([[0, 0, 0, 0, 0, 1, 2, 3, 4, 5], [0] * 9 + [6]])
    out = random_insert(rows, 0.4, pool, torch.Generator().manual_seed(0))
    first = [int(v) for v in out[0] if v > 0]
    assert len(first) == 5 + 2 and [v for v in first if v < 7] == [1, 2, 3, 4, 5]
    assert set(first) - {1, 2, 3, 4, 5} <= {7, 8}
    assert [int(v) for v in out[1] if v > 0] == [6]  # floor(.4 * 1) = 0 inserts
    with pytest.raises(ValueError, match="item_pool"):
        random_insert(rows, 0.4, torch.tensor([0]))
