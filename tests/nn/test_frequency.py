"""Frequency layers (FMLP-Rec's filter, BSARec's rescale) and the post-LN window blocks."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.nn.frequency import FrequencyRescale, LearnableFrequencyFilter, low_pass
from graphrec.nn.transformer import causal_padding_mask
from graphrec.nn.window_encoder import WindowBlock, WindowEncoder


def explicit_filter(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``irfft(W * rfft(x))`` written out with the DFT matrix, in float64.

    ``x``: ``(L, D)``; ``weight``: ``(F, D)`` complex. The half spectrum is extended
    to all ``L`` bins by Hermitian symmetry (``Z_{L-f} = conj(Z_f)``); the imaginary part
    of the DC bin (and of the Nyquist bin for even ``L``) is dropped, as a real inverse
    transform does.
    """
    length = x.shape[0]
    t = torch.arange(length, dtype=torch.float64)
    dft = torch.exp(-2j * math.pi * torch.outer(t, t) / length) / math.sqrt(length)  # (L, L)
    spectrum = dft @ x.to(torch.complex128)  # (L, D)
    bins = length // 2 + 1
    half = spectrum[:bins] * weight.to(torch.complex128)  # (F, D)
    full = torch.zeros_like(spectrum)
    full[:bins] = half
    full[0] = half[0].real
    if length % 2 == 0:
        full[bins - 1] = half[bins - 1].real
    for f in range(1, (length + 1) // 2):
        full[length - f] = half[f].conj()
    return (dft.conj().T @ full).real  # (L, D): the inverse of the orthonormal DFT


@pytest.mark.parametrize("length", [5, 6])
def test_learnable_filter_equals_an_explicit_dft(length: int) -> None:
    torch.manual_seed(0)
    layer = LearnableFrequencyFilter(length, hidden_size=3, init_std=1.0).double()
    x = torch.randn(2, length, 3, dtype=torch.float64)
    weight = torch.view_as_complex(layer.weight.detach())  # (F, D)
    for b in range(2):
        torch.testing.assert_close(layer(x)[b], explicit_filter(x[b], weight))


def test_unit_filter_is_the_identity_and_a_delay_filter_rotates() -> None:
    layer = LearnableFrequencyFilter(8, hidden_size=2)
    x = torch.randn(1, 8, 2)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[..., 0] = 1.0
    torch.testing.assert_close(layer(x), x)
    # W_f = exp(-2 pi i f / L) is a circular delay by one position
    f = torch.arange(5, dtype=torch.float32)[:, None].expand(5, 2)
    with torch.no_grad():
        layer.weight[..., 0] = torch.cos(-2 * math.pi * f / 8)
        layer.weight[..., 1] = torch.sin(-2 * math.pi * f / 8)
    torch.testing.assert_close(layer(x), torch.roll(x, 1, dims=1), atol=1e-5, rtol=1e-5)


def test_filter_refuses_another_window() -> None:
    with pytest.raises(ValueError, match="windows of 6"):
        LearnableFrequencyFilter(6, 2)(torch.zeros(1, 5, 2))


def test_low_pass_with_one_bin_is_the_sequence_mean_and_with_all_bins_the_identity() -> None:
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    torch.testing.assert_close(low_pass(x, 1), x.mean(dim=1, keepdim=True).expand_as(x))
    torch.testing.assert_close(low_pass(x, 4), x)


def test_rescale_reads_c_as_bsarec_and_beta_one_is_the_identity() -> None:
    layer = FrequencyRescale(4, cutoff=5)
    assert layer.kept_bins == 3
    x = torch.randn(2, 10, 4)
    with torch.no_grad():
        layer.sqrt_beta.fill_(1.0)
    torch.testing.assert_close(layer(x), x, atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        layer.sqrt_beta.fill_(0.0)
    torch.testing.assert_close(layer(x), low_pass(x, 3))


def _block_pair(alpha: float) -> tuple[WindowBlock, WindowBlock]:
    torch.manual_seed(1)
    bsa = WindowBlock("bsa", 6, 8, 2, dropout=0.0, alpha=alpha).eval()
    attention = WindowBlock("attention", 6, 8, 2, dropout=0.0).eval()
    missing = attention.load_state_dict(bsa.state_dict(), strict=False)
    assert missing.missing_keys == [] and set(missing.unexpected_keys) == {"filter.sqrt_beta"}
    return bsa, attention


def test_bsarec_block_is_attention_at_alpha_zero_and_the_frequency_branch_at_alpha_one() -> None:
    x = torch.randn(3, 6, 8)
    valid = torch.tensor([[0, 0, 1, 1, 1, 1], [1] * 6, [0, 0, 0, 0, 0, 1]], dtype=torch.bool)
    mask = causal_padding_mask(valid)
    bsa, attention = _block_pair(alpha=0.0)
    torch.testing.assert_close(bsa(x, mask), attention(x, mask))
    bsa, _ = _block_pair(alpha=1.0)
    h = bsa.frequency_branch(x)
    expected = bsa.ffn_norm(h + bsa.ffn_out(torch.nn.functional.gelu(bsa.ffn_in(h))))
    torch.testing.assert_close(bsa(x, mask), expected)
    bsa, attention = _block_pair(alpha=0.3)
    mixed = 0.3 * bsa.frequency_branch(x) + 0.7 * bsa.attention_branch(x, mask)
    expected = bsa.ffn_norm(mixed + bsa.ffn_out(torch.nn.functional.gelu(bsa.ffn_in(mixed))))
    torch.testing.assert_close(bsa(x, mask), expected)


def test_only_the_attention_encoder_is_causal() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 6, 8)
    valid = torch.ones(1, 6, dtype=torch.bool)
    later = x.clone()
    later[0, -1] += 1.0
    for mixer, causal in [("attention", True), ("filter", False), ("bsa", False)]:
        encoder = WindowEncoder(mixer, 6, 8, num_layers=2, num_heads=2, dropout=0.0).eval()
        assert encoder.causal is causal
        same = torch.allclose(encoder(x, valid)[0, :-1], encoder(later, valid)[0, :-1])
        assert same is causal, mixer


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown mixer"):
        WindowBlock("fft", 6, 8, 2, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        WindowBlock("bsa", 6, 8, 2, 0.0, alpha=1.5)
