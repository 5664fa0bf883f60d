"""Causal transformer encoder on left-padded input: mask, finiteness, causality, padding-invariance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphrec.nn.transformer import CausalTransformerEncoder, attention, causal_padding_mask

D = 8


def _encoder(dropout: float = 0.0, **kw: int) -> CausalTransformerEncoder:
    torch.manual_seed(0)
    return CausalTransformerEncoder(D, num_layers=2, num_heads=2, dropout=dropout, **kw)


def _left_padded(lengths: list[int], length: int) -> torch.Tensor:
    """(B, L) bool validity mask for left-padded rows of the given lengths."""
    cols = torch.arange(length)
    return cols[None, :] >= length - torch.tensor(lengths)[:, None]


def test_mask_hand_worked() -> None:
    valid = torch.tensor([[False, True, True]])
    mask = causal_padding_mask(valid)
    expected = torch.tensor(
        [
            [True, False, False],  # padding row: only itself
            [False, True, False],  # first real item: itself
            [False, True, True],  # second real item: first and itself, never the padding
        ]
    )
    assert mask.shape == (1, 1, 3, 3)
    assert torch.equal(mask[0, 0], expected)
    # every query row has at least one key: no all-masked softmax row
    assert mask.any(-1).all()


def test_shapes_and_finite_on_left_padding_train_and_eval() -> None:
    enc = _encoder(dropout=0.5)
    valid = _left_padded([0, 1, 3, 6], 6)  # includes an all-padding row
    x = torch.randn(4, 6, D)
    for mode in (True, False):
        enc.train(mode)
        out = enc(x, valid)
        assert out.shape == (4, 6, D)
        assert torch.isfinite(out).all()
        assert torch.all(out[~valid] == 0)  # padding outputs are exactly zero


def test_matches_unpadded_single_sequences() -> None:
    enc = _encoder().eval()
    lengths = [2, 5, 3]
    valid = _left_padded(lengths, 5)
    x = torch.randn(3, 5, D)
    out = enc(x, valid)
    for b, n in enumerate(lengths):
        alone = enc(x[b : b + 1, 5 - n :], torch.ones(1, n, dtype=torch.bool))  # no padding at all
        torch.testing.assert_close(out[b, 5 - n :], alone[0], rtol=1e-5, atol=1e-5)


def test_no_dependence_on_padding_values_or_amount() -> None:
    enc = _encoder().eval()
    valid = _left_padded([3, 2], 4)
    x = torch.randn(2, 4, D)
    out = enc(x, valid)
    garbage = x.clone()
    garbage[~valid] = 1e3 * torch.randn(int((~valid).sum()), D)
    torch.testing.assert_close(enc(garbage, valid)[valid], out[valid])
    # three more columns of left padding: same outputs at the real positions
    wide_x = torch.cat([torch.randn(2, 3, D), x], dim=1)  # (2, 7, D)
    wide_valid = torch.cat([torch.zeros(2, 3, dtype=torch.bool), valid], dim=1)
    torch.testing.assert_close(enc(wide_x, wide_valid)[wide_valid], out[valid], rtol=1e-5, atol=1e-5)


def test_causal_no_dependence_on_future() -> None:
    enc = _encoder().eval()
    valid = _left_padded([5], 6)
    x = torch.randn(1, 6, D)
    out = enc(x, valid)
    changed = x.clone()
    changed[:, 4:] = torch.randn(1, 2, D)  # change the two newest items
    out2 = enc(changed, valid)
    torch.testing.assert_close(out2[:, :4], out[:, :4])
    assert not torch.allclose(out2[:, 4:], out[:, 4:])


def test_gradients_flow_to_real_positions_only() -> None:
    enc = _encoder(dropout=0.1).train()
    valid = _left_padded([2, 4], 4)
    x = torch.randn(2, 4, D, requires_grad=True)
    enc(x, valid)[valid].sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.all(x.grad[~valid] == 0)
    assert x.grad[valid].abs().sum() > 0
    assert all(p.grad is not None for p in enc.parameters())


def test_explicit_dropout_path_matches_sdpa() -> None:
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 2, 5, 4).unbind(0)  # (B=2, H=2, L=5, d=4) each
    mask = causal_padding_mask(_left_padded([5, 2], 5))
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    # a dropout rate so small that nothing is dropped exercises the explicit CPU path
    torch.testing.assert_close(attention(q, k, v, mask, dropout_p=1e-12), reference, rtol=1e-5, atol=1e-6)
    assert torch.equal(attention(q, k, v, mask, 0.0), reference)


def test_options_and_errors() -> None:
    enc = _encoder(ffn_multiplier=4)
    assert enc.layers[0].ffn_in.out_features == 4 * D
    with pytest.raises(ValueError, match="divisible"):
        CausalTransformerEncoder(6, num_heads=4)
    with pytest.raises(ValueError, match="activation"):
        CausalTransformerEncoder(D, activation="tanh")
    with pytest.raises(ValueError, match="does not match"):
        enc(torch.randn(2, 3, D), torch.ones(2, 4, dtype=torch.bool))
    gelu = CausalTransformerEncoder(D, activation="gelu").eval()
    assert torch.isfinite(gelu(torch.randn(1, 3, D), torch.ones(1, 3, dtype=torch.bool))).all()


def test_segments_restrict_attention_to_own_sequence() -> None:
    valid = torch.tensor([[False, True, True, True]])
    segments = torch.tensor([[0, 1, 2, 2]])
    mask = causal_padding_mask(valid, segments)[0, 0]
    expected = torch.tensor(
        [
            [True, False, False, False],
            [False, True, False, False],  # sequence 1 alone
            [False, False, True, False],  # sequence 2 does not see sequence 1
            [False, False, True, True],
        ]
    )
    assert torch.equal(mask, expected)
    # two sequences packed into one row give the outputs they get alone
    enc = _encoder().eval()
    x = torch.randn(1, 4, D)
    packed = enc(x, valid, segments)
    torch.testing.assert_close(packed[0, 1:2], enc(x[:, 1:2], valid[:, 1:2])[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(packed[0, 2:], enc(x[:, 2:], valid[:, 2:])[0], rtol=1e-5, atol=1e-5)


def test_length_buckets_are_exact() -> None:
    torch.manual_seed(0)
    lengths = [1, 2, 3, 5, 7, 0, 4]
    valid = _left_padded(lengths, 7)
    x = torch.randn(len(lengths), 7, D, requires_grad=True)
    bucketed = CausalTransformerEncoder(D, num_layers=2, num_heads=2, buckets=(2, 4))
    plain = CausalTransformerEncoder(D, num_layers=2, num_heads=2, buckets=())
    plain.load_state_dict(bucketed.state_dict())
    out_b, out_p = bucketed(x, valid), plain(x, valid)
    torch.testing.assert_close(out_b, out_p, rtol=1e-5, atol=1e-6)
    (g_b,) = torch.autograd.grad(out_b.square().sum(), x)
    (g_p,) = torch.autograd.grad(out_p.square().sum(), x)
    torch.testing.assert_close(g_b, g_p, rtol=1e-5, atol=1e-6)


def test_attention_layout_hand_worked() -> None:
    from graphrec.nn.transformer import AttentionLayout

    valid = _left_padded([1, 3, 0, 2], 4)
    layout = AttentionLayout.build(valid, widths=(2,))
    # real positions row-major: row 0 col 3; row 1 cols 1-3; row 3 cols 2-3
    assert layout.index.tolist() == [3, 5, 6, 7, 14, 15]
    assert [(b.rows, b.width) for b in layout.buckets] == [(2, 2), (1, 4)]  # rows {0, 3} | row {1}
    short, full = layout.buckets
    assert short.tokens.tolist() == [0, 4, 5] and short.slots.tolist() == [1, 2, 3]
    assert full.tokens.tolist() == [1, 2, 3] and full.slots.tolist() == [1, 2, 3]
    perm = torch.cat([short.tokens, full.tokens])
    assert torch.equal(perm[layout.inverse], torch.arange(6))


def test_packed_input_equals_dense_input() -> None:
    enc = _encoder().eval()
    valid = _left_padded([2, 4], 4)
    x = torch.randn(2, 4, D)
    torch.testing.assert_close(enc(x[valid], valid), enc(x, valid))
    with pytest.raises(ValueError, match="packed input has 5 rows"):
        enc(torch.randn(5, D), valid)


def test_bidirectional_mask_hand_worked() -> None:
    valid = torch.tensor([[False, True, True]])
    expected = torch.tensor(
        [
            [True, False, False],  # padding row: only itself, never the real positions
            [False, True, True],  # first real item: itself and the future
            [False, True, True],
        ]
    )
    assert torch.equal(causal_padding_mask(valid, causal=False)[0, 0], expected)
    segments = torch.tensor([[0, 1, 2, 2]])
    mask = causal_padding_mask(torch.tensor([[False, True, True, True]]), segments, causal=False)[0, 0]
    expected = torch.tensor(
        [
            [True, False, False, False],
            [False, True, False, False],  # sequence 1 alone
            [False, False, True, True],  # sequence 2 sees its own future, not sequence 1
            [False, False, True, True],
        ]
    )
    assert torch.equal(mask, expected)
    # the default stays causal
    assert torch.equal(causal_padding_mask(valid), causal_padding_mask(valid, causal=True))


def test_future_visible_only_when_bidirectional() -> None:
    torch.manual_seed(0)
    causal = CausalTransformerEncoder(D, num_layers=2, num_heads=2).eval()
    bidirectional = CausalTransformerEncoder(D, num_layers=2, num_heads=2, causal=False).eval()
    bidirectional.load_state_dict(causal.state_dict())  # same parameters, only the mask differs
    valid = _left_padded([4], 6)
    x = torch.randn(1, 6, D)
    changed = x.clone()
    changed[:, 5] = torch.randn(D)  # a later (the newest) item
    torch.testing.assert_close(causal(changed, valid)[:, :5], causal(x, valid)[:, :5])
    earlier_b, earlier_c = bidirectional(x, valid)[:, 2:5], bidirectional(changed, valid)[:, 2:5]
    assert (earlier_b - earlier_c).abs().amax(-1).min() > 1e-4  # every earlier real position moved
    # but never through padding: padding values are ignored in both modes
    garbage = x.clone()
    garbage[~valid] = 1e3
    torch.testing.assert_close(bidirectional(garbage, valid), bidirectional(x, valid))


@pytest.mark.parametrize("causal", [True, False])
def test_finite_and_zero_padding_on_left_padding_both_modes(causal: bool) -> None:
    torch.manual_seed(0)
    enc = CausalTransformerEncoder(D, num_layers=2, num_heads=2, dropout=0.5, causal=causal)
    valid = _left_padded([0, 1, 3, 6], 6)  # includes an all-padding row
    x = torch.randn(4, 6, D, requires_grad=True)
    for mode in (True, False):
        enc.train(mode)
        out = enc(x, valid)
        assert torch.isfinite(out).all() and torch.all(out[~valid] == 0)
    enc.train()
    enc(x, valid)[valid].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and torch.all(x.grad[~valid] == 0)


def test_bidirectional_buckets_packing_and_segments_are_exact() -> None:
    torch.manual_seed(0)
    lengths = [1, 2, 3, 5, 7, 0, 4]
    valid = _left_padded(lengths, 7)
    x = torch.randn(len(lengths), 7, D, requires_grad=True)
    bucketed = CausalTransformerEncoder(D, num_layers=2, num_heads=2, buckets=(2, 4), causal=False)
    plain = CausalTransformerEncoder(D, num_layers=2, num_heads=2, buckets=(), causal=False)
    plain.load_state_dict(bucketed.state_dict())
    out_b, out_p = bucketed(x, valid), plain(x, valid)
    torch.testing.assert_close(out_b, out_p, rtol=1e-5, atol=1e-6)
    (g_b,) = torch.autograd.grad(out_b.square().sum(), x)
    (g_p,) = torch.autograd.grad(out_p.square().sum(), x)
    torch.testing.assert_close(g_b, g_p, rtol=1e-5, atol=1e-6)
    # packed (P, D) input, and each row as an unpadded sequence alone
    bucketed.eval()
    out = bucketed(x, valid)
    torch.testing.assert_close(bucketed(x[valid], valid), out)
    for b, n in enumerate(lengths):
        if n:
            alone = bucketed(x[b : b + 1, 7 - n :], torch.ones(1, n, dtype=torch.bool))
            torch.testing.assert_close(out[b, 7 - n :], alone[0], rtol=1e-5, atol=1e-5)
    # two sequences packed into one row give the outputs they get alone
    row_valid = torch.tensor([[False, True, True, True]])
    segments = torch.tensor([[0, 1, 2, 2]])
    xs = torch.randn(1, 4, D)
    packed = bucketed(xs, row_valid, segments)
    torch.testing.assert_close(packed[0, 2:], bucketed(xs[:, 2:], row_valid[:, 2:])[0], rtol=1e-5, atol=1e-5)
    assert "causal=False" in repr(bucketed)
