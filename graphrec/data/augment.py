"""Sequence augmentations as vectorised operations on left-padded batches.

Every operation takes a left-padded ``(B, L)`` int64 batch (``0`` = padding, the
newest item in the last column) and a ``torch.Generator`` and returns a new
left-padded ``(B, L)`` batch that is again a valid sequence batch: real items are
right-aligned with no padding among them, a non-empty row stays non-empty and an
empty row stays empty. All work is batched tensor code (no Python loop over rows
or positions); it runs on the device of ``input_ids``.

Operations (``n`` = real length of a row; counts are ``floor(ratio * n)``,
computed as ``int(ratio * n)`` in double precision like the CoSeRec/ICLRec code):

* :func:`crop`, :func:`mask`, :func:`reorder` — CL4SRec (Xie et al., "Contrastive
  Learning for Sequential Recommendation", ICDE 2022);
* :func:`insert`, :func:`substitute` — CoSeRec (Liu et al., "Contrastive
  Self-supervised Sequential Recommendation with Robust Augmentation", 2021),
  drawing correlated items from a table built by :func:`graphrec.data.similar_items.build_similar_items`;
* :func:`item_shuffle` — DSIE's shuffled view (all real items of a row permuted);
* :func:`random_augment` / :func:`two_views` — one operation drawn uniformly per
  row from a configured list (CL4SRec draws one augmentation per view), with
  :class:`AugmentConfig` turning plain config options into that list.

Randomness: every draw is made on the generator's device (the global RNG of the
batch's device when ``generator`` is ``None``) and moved to the batch, so a CPU
generator drives a GPU batch, and a seeded generator gives the same output for
the same input.

Windows are drawn uniformly over all ``n - m + 1`` valid starts; the released
CoSeRec/ICLRec code draws ``randint(0, n - m - 1)``, which never picks the last
window and fails when ``m = n``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

Augmentation = Callable[[Tensor, torch.Generator | None], Tensor]
"""An operation ``(input_ids (B, L), generator) -> (B, L)`` as built by :meth:`AugmentConfig.build`."""

OPERATIONS = ("crop", "mask", "reorder", "insert", "substitute", "item_shuffle", "span_crop", "random_insert")


# ----------------------------------------------------------------------------- helpers


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Uniform ``[0, 1)`` float32 draws of ``shape`` on the generator's device, moved to ``device``."""
    draw_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=draw_device).to(device)


def _check_batch(input_ids: Tensor) -> None:
    if input_ids.dim() != 2 or input_ids.dtype != torch.long:
        raise ValueError(f"input_ids must be a (B, L) int64 tensor, got {tuple(input_ids.shape)} "
                         f"{input_ids.dtype}")


def _check_ratio(ratio: float, name: str) -> None:
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{name} ratio must lie in [0, 1], got {ratio}")


def _counts(ratio: float, lengths: Tensor, max_len: int) -> Tensor:
    """``(B,)`` ``floor(ratio * n)`` per row, exact in double precision (a CPU lookup table over ``0..L``)."""
    table = torch.floor(ratio * torch.arange(max_len + 1, dtype=torch.float64)).long()  # (L + 1,)
    return table.to(lengths.device)[lengths]


def _window_start(lengths: Tensor, size: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(B,)`` offset (from the first real item) of a uniform window of ``size`` items in each row."""
    last = lengths - size  # (B,) last valid offset of the window inside the real items
    u = _uniform((lengths.shape[0],), generator, lengths.device)
    return torch.minimum((u * (last + 1)).long(), last)  # (B,) uniform in [0, n - m]


def _random_rank(real: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(B, L)`` rank of each real position in a uniformly random order of its row (padding ranks last)."""
    bsz, length = real.shape
    keys = _uniform((bsz, length), generator, real.device).masked_fill(~real, 2.0)  # (B, L)
    order = keys.argsort(dim=1, stable=True)  # (B, L)
    steps = torch.arange(length, device=real.device).expand(bsz, length)  # (B, L)
    return torch.empty_like(order).scatter_(1, order, steps)  # (B, L) inverse permutation


def _chosen_positions(input_ids: Tensor, ratio: float, generator: torch.Generator | None) -> Tensor:
    """``(B, L)`` bool: ``floor(ratio * n)`` distinct real positions per row, uniformly drawn."""
    real = input_ids > 0  # (B, L)
    count = _counts(ratio, real.sum(dim=1), input_ids.shape[1])  # (B,)
    return real & (_random_rank(real, generator) < count.unsqueeze(1))


def _permute_within(group: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(B, L)`` source column of each output column, permuting uniformly within groups.

    ``group`` is ``(B, L)`` integer, non-decreasing along each row; columns with the
    same value form one contiguous group, whose entries are shuffled uniformly while
    every other column stays put.
    """
    bsz, length = group.shape
    perm = _uniform((bsz, length), generator, group.device).argsort(dim=1, stable=True)  # (B, L) random
    order = group.gather(1, perm).argsort(dim=1, stable=True)  # (B, L) regroup, random inside groups
    return perm.gather(1, order)  # (B, L)


def _right_align(values: Tensor, length: int) -> Tensor:
    """Keep the newest ``length`` non-zero entries of each ``(B, M)`` row, left-padded to ``(B, length)``."""
    bsz = values.shape[0]
    keep = values > 0  # (B, M)
    from_right = keep.flip(1).cumsum(dim=1).flip(1) - 1  # (B, M) 0 for the newest kept entry
    dest = length - 1 - from_right  # (B, M) output column
    dest = torch.where(keep & (dest >= 0), dest, torch.full_like(dest, length))  # dropped -> spare column
    out = torch.zeros(bsz, length + 1, dtype=values.dtype, device=values.device)  # (B, L + 1)
    return out.scatter_(1, dest, values)[:, :length]  # (B, L)


def _check_similar(similar_items: Tensor, input_ids: Tensor) -> Tensor:
    if similar_items.dim() != 2 or similar_items.shape[1] < 1 or similar_items.dtype != torch.long:
        raise ValueError(f"similar_items must be a (N + 1, k) int64 table with k >= 1, got "
                         f"{tuple(similar_items.shape)} {similar_items.dtype}")
    if input_ids.numel() and int(input_ids.max()) >= similar_items.shape[0]:
        raise ValueError(f"input_ids hold item {int(input_ids.max())} but similar_items has only "
                         f"{similar_items.shape[0]} rows (items 0..{similar_items.shape[0] - 1})")
    return similar_items.to(input_ids.device)


def _pick_similar(input_ids: Tensor, similar_items: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(B, L)`` one correlated item per position, uniform over the ``k`` columns of its table row."""
    k = similar_items.shape[1]
    u = _uniform(tuple(input_ids.shape), generator, input_ids.device)  # (B, L)
    column = (u * k).long().clamp_max(k - 1)  # (B, L)
    return similar_items[input_ids, column]  # (B, L)


# ----------------------------------------------------------------------------- operations


def random_prefixes(input_ids: Tensor, target_ids: Tensor, cuts_per_row: int = 1,
                    generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Cut each left-padded row at random real positions (SR-GNN's prefix augmentation).

    Args:
        input_ids: ``(B, L)`` left-padded inputs.
        target_ids: ``(B, L)`` next item at every position (0 at padding).
        cuts_per_row: prefixes drawn per row (with replacement).
        generator: optional random generator.

    Returns:
        ``(B * cuts_per_row, L)`` left-padded prefixes ending at the cut and the
        ``(B * cuts_per_row,)`` targets at the cut; rows without a real position
        are dropped.
    """
    valid = (input_ids > 0) & (target_ids > 0)  # (B, L)
    keep = valid.any(dim=1)
    input_ids, target_ids, valid = input_ids[keep], target_ids[keep], valid[keep]
    bsz, length = input_ids.shape
    input_ids = input_ids.repeat_interleave(cuts_per_row, dim=0)  # (B c, L)
    target_ids = target_ids.repeat_interleave(cuts_per_row, dim=0)  # (B c, L)
    valid = valid.repeat_interleave(cuts_per_row, dim=0)  # (B c, L)
    first = valid.float().argmax(dim=1)  # (B c,) first real position (left-padded)
    span = (length - first).float()  # (B c,) number of real positions
    u = torch.rand(len(first), generator=generator, device=input_ids.device)
    cut = first + (u * span).long().clamp_max(length - 1 - first)  # (B c,) uniform in [first, L - 1]
    shift = (length - 1 - cut).unsqueeze(1)  # (B c, 1)
    idx = torch.arange(length, device=input_ids.device).unsqueeze(0) - shift  # (B c, L)
    prefix = input_ids.gather(1, idx.clamp_min(0)) * (idx >= 0)  # (B c, L) right-aligned prefix
    targets = target_ids.gather(1, cut.unsqueeze(1)).squeeze(1)  # (B c,)
    return prefix, targets


def crop(input_ids: Tensor, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """CL4SRec item crop: a random contiguous sub-sequence of each row.

    .. math::

        s^{crop} = [v_c, v_{c+1}, \\dots, v_{c+m-1}], \\qquad m = \\max(1, \\lfloor \\eta n \\rfloor)

    with the start ``c`` uniform over the ``n - m + 1`` possible windows.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        ratio: :math:`\\eta \\in [0, 1]` (``0`` keeps one item, ``1`` the whole row).
        generator: random generator.

    Returns:
        ``(B, L)`` left-padded crops (``m`` real items per non-empty row).
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "crop")
    length = input_ids.shape[1]
    n = (input_ids > 0).sum(dim=1)  # (B,)
    size = _counts(ratio, n, length).clamp_min(1) * (n > 0)  # (B,) m
    start = (length - n) + _window_start(n, size, generator)  # (B,) first source column
    k = torch.arange(length, device=input_ids.device).unsqueeze(0) - (length - size).unsqueeze(1)  # (B, L)
    src = (start.unsqueeze(1) + k).clamp(0, length - 1)  # (B, L) source column of each output column
    return input_ids.gather(1, src) * (k >= 0)


def mask(input_ids: Tensor, ratio: float, mask_id: int, generator: torch.Generator | None = None) -> Tensor:
    """CL4SRec item mask: ``floor(gamma * n)`` distinct random real positions set to ``mask_id``.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        ratio: :math:`\\gamma \\in [0, 1]`.
        mask_id: the mask token (``> 0``, e.g. ``N + 1``; the item table needs a row for it).
        generator: random generator.

    Returns:
        ``(B, L)`` batch with the same padding and ``floor(gamma * n)`` masked positions per row.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "mask")
    if mask_id <= 0:
        raise ValueError(f"mask_id must be a positive id (0 is padding), got {mask_id}")
    chosen = _chosen_positions(input_ids, ratio, generator)  # (B, L)
    return input_ids.masked_fill(chosen, mask_id)


def reorder(input_ids: Tensor, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """CL4SRec item reorder: a random contiguous window of ``floor(beta * n)`` items shuffled.

    .. math::

        s^{reorder} = [v_1, \\dots, \\hat v_c, \\dots, \\hat v_{c+m-1}, \\dots, v_n],
        \\qquad m = \\lfloor \\beta n \\rfloor

    where :math:`\\hat v` is a uniform permutation of the window.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        ratio: :math:`\\beta \\in [0, 1]`.
        generator: random generator.

    Returns:
        ``(B, L)`` batch, each row a permutation of the input row that only moves
        items inside the window.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "reorder")
    length = input_ids.shape[1]
    n = (input_ids > 0).sum(dim=1)  # (B,)
    size = _counts(ratio, n, length)  # (B,) m
    start = ((length - n) + _window_start(n, size, generator)).unsqueeze(1)  # (B, 1) first window column
    cols = torch.arange(length, device=input_ids.device).unsqueeze(0)  # (1, L)
    inside = (cols >= start) & (cols < start + size.unsqueeze(1))  # (B, L)
    group = torch.where(inside, start, cols)  # (B, L) the window is one group
    return input_ids.gather(1, _permute_within(group, generator))


def item_shuffle(input_ids: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """DSIE's shuffled view: all real items of each row uniformly permuted.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        generator: random generator.

    Returns:
        ``(B, L)`` batch with the same padding and each row's items permuted.
    """
    _check_batch(input_ids)
    group = (input_ids > 0).long()  # (B, L) padding group 0, real items group 1
    return input_ids.gather(1, _permute_within(group, generator))


def substitute(input_ids: Tensor, ratio: float, similar_items: Tensor,
               generator: torch.Generator | None = None) -> Tensor:
    """CoSeRec substitute: ``floor(ratio * n)`` random items replaced by a correlated item.

    Each chosen item :math:`v` becomes ``similar_items[v, j]`` with ``j`` uniform over
    the table's ``k`` columns. (The released CoSeRec code substitutes at least one
    item; here ``ratio * n < 1`` substitutes none.)

    Args:
        input_ids: ``(B, L)`` left-padded item ids (every id a row of ``similar_items``).
        ratio: substitute rate in ``[0, 1]``.
        similar_items: ``(N + 1, k)`` int64 correlated items, rows ``1..N`` holding ids
            ``>= 1`` (:func:`build_similar_items`).
        generator: random generator.

    Returns:
        ``(B, L)`` batch with the same padding.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "substitute")
    similar_items = _check_similar(similar_items, input_ids)
    chosen = _chosen_positions(input_ids, ratio, generator)  # (B, L)
    picked = _pick_similar(input_ids, similar_items, generator)  # (B, L)
    return torch.where(chosen, picked, input_ids)


def insert(input_ids: Tensor, ratio: float, similar_items: Tensor,
           generator: torch.Generator | None = None) -> Tensor:
    """CoSeRec insert: a correlated item inserted before ``floor(ratio * n)`` random items.

    Before each chosen item :math:`v` the item ``similar_items[v, j]`` (``j`` uniform
    over the ``k`` columns) is inserted; the row then holds ``n + floor(ratio * n)``
    items, of which the newest ``L`` are kept. (The released CoSeRec code inserts at
    least once; here ``ratio * n < 1`` inserts nothing.)

    Args:
        input_ids: ``(B, L)`` left-padded item ids (every id a row of ``similar_items``).
        ratio: insert rate in ``[0, 1]``.
        similar_items: ``(N + 1, k)`` int64 correlated items (:func:`build_similar_items`).
        generator: random generator.

    Returns:
        ``(B, L)`` left-padded batch of ``min(L, n + floor(ratio * n))`` items per row.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "insert")
    similar_items = _check_similar(similar_items, input_ids)
    bsz, length = input_ids.shape
    chosen = _chosen_positions(input_ids, ratio, generator)  # (B, L)
    picked = _pick_similar(input_ids, similar_items, generator) * chosen  # (B, L) 0 = nothing inserted
    both = torch.stack([picked, input_ids], dim=2).reshape(bsz, 2 * length)  # (B, 2L) inserted item first
    return _right_align(both, length)


def span_crop(input_ids: Tensor, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """S4Rec's crop (its Appendix A, Eq. 16): a contiguous span of ``floor(ratio * n)`` items is removed.

    .. math::

        s^{crop} = [v_1, \\dots, v_{l}, v_{l + l_c + 1}, \\dots, v_n], \\qquad
        l_c = \\min(\\lfloor \\delta n \\rfloor, n - 1)

    with the span's start ``l`` uniform over the ``n - l_c`` spans that leave the newest item
    in place (the prefix and the suffix are kept, unlike CL4SRec's :func:`crop`, which keeps
    one window).

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        ratio: :math:`\\delta \\in [0, 1]` (the paper's 0.8).
        generator: random generator.

    Returns:
        ``(B, L)`` left-padded batch of ``n - l_c`` items per non-empty row.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "span_crop")
    length = input_ids.shape[1]
    real = input_ids > 0  # (B, L)
    n = real.sum(dim=1)  # (B,)
    size = torch.minimum(_counts(ratio, n, length), (n - 1).clamp_min(0))  # (B,) l_c
    start = _window_start((n - 1).clamp_min(0), size, generator)  # (B,) uniform in [0, n - 1 - l_c]
    offset = torch.arange(length, device=input_ids.device).unsqueeze(0) - (length - n).unsqueeze(1)  # (B, L)
    removed = real & (offset >= start.unsqueeze(1)) & (offset < (start + size).unsqueeze(1))  # (B, L)
    return _right_align(input_ids * ~removed, length)


def random_insert(input_ids: Tensor, ratio: float, item_pool: Tensor,
                  generator: torch.Generator | None = None) -> Tensor:
    """S4Rec's insert (its Appendix A, Eq. 18): items of other users' histories at random places.

    Before each of ``floor(ratio * n)`` random items of a row an item drawn uniformly from
    ``item_pool`` is inserted; with the pool holding every training interaction, an item is
    drawn as often as it occurs in the training histories. The newest ``L`` items are kept.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        ratio: insert rate in ``[0, 1]``.
        item_pool: ``(P,)`` int64 items to draw from (``P >= 1``, ids ``>= 1``).
        generator: random generator.

    Returns:
        ``(B, L)`` left-padded batch of ``min(L, n + floor(ratio * n))`` items per row.
    """
    _check_batch(input_ids)
    _check_ratio(ratio, "random_insert")
    if item_pool.dim() != 1 or item_pool.numel() == 0 or bool((item_pool < 1).any()):
        raise ValueError("item_pool must be a non-empty 1-D tensor of item ids >= 1")
    bsz, length = input_ids.shape
    chosen = _chosen_positions(input_ids, ratio, generator)  # (B, L)
    u = _uniform((bsz, length), generator, input_ids.device)  # (B, L)
    pool = item_pool.to(input_ids.device)
    picked = pool[(u * pool.numel()).long().clamp_max(pool.numel() - 1)] * chosen  # (B, L)
    both = torch.stack([picked, input_ids], dim=2).reshape(bsz, 2 * length)  # (B, 2L) inserted item first
    return _right_align(both, length)


def _missing_pool(input_ids: Tensor, generator: torch.Generator | None) -> Tensor:
    raise ValueError("the 'random_insert' augmentation draws from the training items: build the model "
                     "with from_context (or pass item_pool)")


# ----------------------------------------------------------------------------- composites


def random_augment(input_ids: Tensor, operations: Sequence[Augmentation],
                   generator: torch.Generator | None = None) -> Tensor:
    """One operation per row, drawn uniformly from ``operations`` (CL4SRec's per-view draw).

    Every operation runs on the whole batch (each is vectorised), then each row
    takes the output of its drawn operation.

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        operations: augmentations ``(input_ids, generator) -> (B, L)``, e.g.
            :meth:`AugmentConfig.build`.
        generator: random generator.

    Returns:
        ``(B, L)`` augmented batch.
    """
    _check_batch(input_ids)
    if not operations:
        raise ValueError("random_augment needs at least one operation")
    outputs = torch.stack([op(input_ids, generator) for op in operations])  # (O, B, L)
    bsz = input_ids.shape[0]
    u = _uniform((bsz,), generator, input_ids.device)
    choice = (u * len(operations)).long().clamp_max(len(operations) - 1)  # (B,)
    index = choice.view(1, bsz, 1).expand(1, bsz, input_ids.shape[1])  # (1, B, L)
    return outputs.gather(0, index).squeeze(0)  # (B, L)


def two_views(input_ids: Tensor, operations: Sequence[Augmentation],
              generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Two independently augmented views of a batch (CL4SRec's positive pair).

    Args:
        input_ids: ``(B, L)`` left-padded item ids.
        operations: augmentations to draw from, per row and per view.
        generator: random generator.

    Returns:
        Two ``(B, L)`` batches.
    """
    return random_augment(input_ids, operations, generator), random_augment(input_ids, operations, generator)


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations a contrastive model draws from, and their ratios.

    Defaults are those of the released CoSeRec/ICLRec code (``tao = 0.2``,
    ``gamma = 0.7``, ``beta = 0.2``, ``insert_rate = 0.4``, ``substitute_rate = 0.1``).

    Args:
        operations: names drawn uniformly per row, from ``OPERATIONS``
            (``crop``, ``mask``, ``reorder``, ``insert``, ``substitute``,
            ``item_shuffle``); a name listed twice is drawn twice as often.
        crop_ratio: :math:`\\eta` of :func:`crop`.
        mask_ratio: :math:`\\gamma` of :func:`mask`.
        reorder_ratio: :math:`\\beta` of :func:`reorder`.
        insert_ratio: rate of :func:`insert`.
        substitute_ratio: rate of :func:`substitute`.
        span_crop_ratio: :math:`\\delta` of :func:`span_crop` (S4Rec's 0.8).
        random_insert_ratio: rate of :func:`random_insert` (S4Rec gives none; 0.2).
    """

    operations: tuple[str, ...] = ("crop", "mask", "reorder")
    crop_ratio: float = 0.2
    mask_ratio: float = 0.7
    reorder_ratio: float = 0.2
    insert_ratio: float = 0.4
    substitute_ratio: float = 0.1
    span_crop_ratio: float = 0.8
    random_insert_ratio: float = 0.2

    def __post_init__(self) -> None:
        if isinstance(self.operations, str):
            raise ValueError(f"operations must be a list of names, got the string {self.operations!r}")
        object.__setattr__(self, "operations", tuple(self.operations))
        if not self.operations:
            raise ValueError(f"operations is empty; valid names: {list(OPERATIONS)}")
        unknown = [name for name in self.operations if name not in OPERATIONS]
        if unknown:
            raise ValueError(f"unknown augmentation(s) {unknown}; valid: {list(OPERATIONS)}")
        for name in ("crop", "mask", "reorder", "insert", "substitute", "span_crop", "random_insert"):
            _check_ratio(getattr(self, f"{name}_ratio"), name)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> AugmentConfig:
        """Build from plain config options (e.g. a YAML mapping); unknown keys are an error."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(f"unknown augmentation option(s) {unknown}; valid: {valid}")
        return cls(**options)

    @property
    def needs_mask_id(self) -> bool:
        return "mask" in self.operations

    @property
    def needs_similar_items(self) -> bool:
        return "insert" in self.operations or "substitute" in self.operations

    @property
    def needs_item_pool(self) -> bool:
        return "random_insert" in self.operations

    def build(self, mask_id: int | None = None, similar_items: Tensor | None = None,
              item_pool: Tensor | None = None) -> tuple[Augmentation, ...]:
        """The configured operations as callables ``(input_ids, generator) -> (B, L)``.

        Args:
            mask_id: mask token, required when ``mask`` is configured.
            similar_items: ``(N + 1, k)`` table, required when ``insert`` or
                ``substitute`` is configured.
            item_pool: ``(P,)`` training interactions' items for ``random_insert``; without it
                that operation raises when it is applied.
        """
        if self.needs_mask_id and mask_id is None:
            raise ValueError("the 'mask' augmentation needs mask_id (e.g. num_items + 1)")
        if self.needs_similar_items and similar_items is None:
            raise ValueError("the 'insert'/'substitute' augmentations need a similar_items table "
                             "(build_similar_items)")

        def make(name: str) -> Augmentation:
            if name == "crop":
                return lambda x, g: crop(x, self.crop_ratio, g)
            if name == "mask":
                assert mask_id is not None
                return lambda x, g: mask(x, self.mask_ratio, mask_id, g)
            if name == "reorder":
                return lambda x, g: reorder(x, self.reorder_ratio, g)
            if name == "item_shuffle":
                return item_shuffle
            if name == "span_crop":
                return lambda x, g: span_crop(x, self.span_crop_ratio, g)
            if name == "random_insert":
                if item_pool is None:
                    return _missing_pool
                return lambda x, g: random_insert(x, self.random_insert_ratio, item_pool, g)
            assert similar_items is not None
            if name == "insert":
                return lambda x, g: insert(x, self.insert_ratio, similar_items, g)
            return lambda x, g: substitute(x, self.substitute_ratio, similar_items, g)

        return tuple(make(name) for name in self.operations)
