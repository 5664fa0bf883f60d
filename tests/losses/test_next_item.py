"""Next-item losses against hand-computed values on tiny inputs."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.losses import (
    bce_with_negatives,
    full_softmax_ce,
    next_item_loss,
    sampled_softmax_ce,
)


def _table() -> torch.Tensor:
    # 3 real items in 2-D; row 0 is padding with a huge value that must never matter
    return torch.tensor([[100.0, 100.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))






def test_full_softmax_ce_matches_hand_log_softmax() -> None:
    h = torch.tensor([[1.0, 2.0]])
    # logits over items 1..3: [1, 2, 3]; target item 2 -> logit 2
    expected = -2.0 + math.log(math.exp(1) + math.exp(2) + math.exp(3))
    loss = full_softmax_ce(h, _table(), torch.tensor([2]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_full_softmax_ce_mean_over_rows_and_gradients() -> None:
    h = torch.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    items = _table().requires_grad_(True)
    targets = torch.tensor([2, 1])
    loss = full_softmax_ce(h, items, targets)
    manual = torch.stack(
        [-torch.log_softmax(h[p] @ items[1:].T, dim=0)[targets[p] - 1] for p in range(2)]
    ).mean()
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)
    loss.backward()
    assert h.grad is not None and torch.isfinite(h.grad).all() and h.grad.abs().sum() > 0
    assert items.grad is not None and torch.all(items.grad[0] == 0)  # padding row is no candidate
    assert items.grad[1:].abs().sum() > 0


def test_full_softmax_ce_gradients_match_autograd_reference() -> None:
    torch.manual_seed(0)
    h = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    items = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 10, (7,))
    assert torch.autograd.gradcheck(lambda a, b: full_softmax_ce(a, b, targets), (h, items))
    loss = full_softmax_ce(h, items, targets)
    ref = torch.nn.functional.cross_entropy(h @ items[1:].T, targets - 1)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    g_h, g_items = torch.autograd.grad(loss * 3.0, (h, items))
    r_h, r_items = torch.autograd.grad(ref * 3.0, (h, items))
    torch.testing.assert_close(g_h, r_h)
    torch.testing.assert_close(g_items, r_items)
    # large logits stay finite (max-shifted)
    big = full_softmax_ce(h.detach() * 1e3, items.detach(), targets)
    assert torch.isfinite(big)


def test_full_softmax_ce_rejects_padding_target() -> None:
    with pytest.raises(ValueError, match="0 is padding"):
        full_softmax_ce(torch.zeros(1, 2), _table(), torch.tensor([0]))


def test_sampled_softmax_ce_hand_value() -> None:
    h = torch.tensor([[1.0, 2.0]])
    negatives = torch.tensor([1, 3])
    # positive item 2 -> 2; negatives item 1 -> 1, item 3 -> 3
    expected = -2.0 + math.log(math.exp(2) + math.exp(1) + math.exp(3))
    loss = sampled_softmax_ce(h, _table(), torch.tensor([2]), negatives)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_sampled_softmax_ce_masks_accidental_hits() -> None:
    h = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    negatives = torch.tensor([2, 1])
    targets = torch.tensor([2, 3])
    # row 0: negative 2 equals the target and is dropped -> candidates {2 (pos), 1}
    row0 = -2.0 + math.log(math.exp(2) + math.exp(1))
    # row 1: target 3 (logit 3), negatives 2 and 1
    row1 = -3.0 + math.log(math.exp(3) + math.exp(2) + math.exp(1))
    loss = sampled_softmax_ce(h, _table(), targets, negatives)
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_sampled_softmax_ce_log_q_correction() -> None:
    h = torch.tensor([[1.0, 2.0]])
    negatives = torch.tensor([1, 3])
    log_q = torch.log(torch.tensor([0.0, 0.5, 0.2, 0.3]).clamp_min(1e-12))
    s_pos = 2.0 - math.log(0.2)
    s1, s3 = 1.0 - math.log(0.5), 3.0 - math.log(0.3)
    expected = -s_pos + math.log(math.exp(s_pos) + math.exp(s1) + math.exp(s3))
    loss = sampled_softmax_ce(h, _table(), torch.tensor([2]), negatives, log_q=log_q)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # a uniform sampler's correction is a constant and cancels
    uniform = torch.full((4,), math.log(1 / 3))
    plain = sampled_softmax_ce(h, _table(), torch.tensor([2]), negatives)
    corrected = sampled_softmax_ce(h, _table(), torch.tensor([2]), negatives, log_q=uniform)
    assert corrected.item() == pytest.approx(plain.item(), rel=1e-6)


def test_sampled_softmax_all_negatives_hit_is_zero_and_finite() -> None:
    h = torch.tensor([[1.0, 2.0]], requires_grad=True)
    loss = sampled_softmax_ce(h, _table(), torch.tensor([2]), torch.tensor([2, 2]))
    assert loss.item() == pytest.approx(0.0, abs=1e-7)
    loss.backward()
    assert torch.isfinite(h.grad).all()


def test_bce_one_negative_per_row_is_sasrec() -> None:
    h = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    targets = torch.tensor([3, 1])
    negatives = torch.tensor([1, 2])
    # row 0: pos 3, neg 1; row 1: pos 0, neg 1
    expected = (_softplus(-3.0) + _softplus(1.0) + _softplus(0.0) + _softplus(1.0)) / 2
    loss = bce_with_negatives(h, _table(), targets, negatives)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    manual = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([3.0, 1.0, 0.0, 1.0]), torch.tensor([1.0, 0.0, 1.0, 0.0]), reduction="sum"
    ) / 2
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)


def test_bce_many_negatives_average_and_mask_hits() -> None:
    h = torch.tensor([[1.0, 2.0]])
    targets = torch.tensor([2])
    negatives = torch.tensor([[1, 2, 3]])  # the 2 is an accidental hit
    expected = _softplus(-2.0) + (_softplus(1.0) + _softplus(3.0)) / 2
    loss = bce_with_negatives(h, _table(), targets, negatives)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="negatives must be"):
        bce_with_negatives(h, _table(), targets, torch.tensor([[1], [2]]))


def test_next_item_loss_selects_non_padding_positions() -> None:
    torch.manual_seed(0)
    items = torch.randn(6, 4)
    hidden = torch.randn(2, 3, 4)
    target_ids = torch.tensor([[0, 2, 5], [0, 0, 1]])
    loss = next_item_loss(hidden, target_ids, items, "ce")
    mask = target_ids > 0
    expected = full_softmax_ce(hidden[mask], items, target_ids[mask])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    # padding positions may hold anything (even NaN): they are never scored
    hidden_nan = hidden.clone()
    hidden_nan[~mask] = float("nan")
    assert next_item_loss(hidden_nan, target_ids, items, "ce").item() == pytest.approx(expected.item())


@pytest.mark.parametrize("kind", ["sampled", "bce"])
def test_next_item_loss_sampled_kinds_reproducible(kind: str) -> None:
    torch.manual_seed(0)
    items = torch.randn(51, 8, requires_grad=True)
    hidden = torch.randn(3, 5, 8, requires_grad=True)
    target_ids = torch.randint(0, 51, (3, 5))
    loss1 = next_item_loss(hidden, target_ids, items, kind, 7, torch.Generator().manual_seed(1))
    loss2 = next_item_loss(hidden, target_ids, items, kind, 7, torch.Generator().manual_seed(1))
    assert loss1.item() == loss2.item() and math.isfinite(loss1.item())
    # the same negatives passed by hand give the same value
    gen = torch.Generator().manual_seed(1)
    mask = target_ids > 0
    size = (7,) if kind == "sampled" else (int(mask.sum()), 7)
    negatives = torch.randint(1, 51, size, generator=gen)
    fn = sampled_softmax_ce if kind == "sampled" else bce_with_negatives
    assert loss1.item() == pytest.approx(fn(hidden[mask], items, target_ids[mask], negatives).item())
    loss1.backward()
    assert items.grad is not None and hidden.grad is not None
    assert torch.all(hidden.grad[~mask] == 0) and hidden.grad[mask].abs().sum() > 0


def test_next_item_loss_all_padding_and_bad_kind() -> None:
    hidden = torch.randn(2, 3, 4, requires_grad=True)
    loss = next_item_loss(hidden, torch.zeros(2, 3, dtype=torch.long), torch.randn(5, 4))
    assert loss.item() == 0.0
    loss.backward()  # still differentiable
    with pytest.raises(ValueError, match="unknown next-item loss"):
        next_item_loss(hidden, torch.zeros(2, 3, dtype=torch.long), torch.randn(5, 4), "softmax")
    with pytest.raises(ValueError, match="does not match"):
        next_item_loss(hidden, torch.zeros(2, 4, dtype=torch.long), torch.randn(5, 4))
