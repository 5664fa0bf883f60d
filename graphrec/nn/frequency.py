"""Frequency-domain sequence layers: FMLP-Rec's learnable filter and BSARec's rescaled spectrum.

Both act on a whole left-padded window ``X`` of shape ``(B, L, D)`` along the
sequence axis, with the orthonormal real DFT of length ``L``
(:func:`torch.fft.rfft` / :func:`torch.fft.irfft`, ``norm="ortho"``), which has
``L // 2 + 1`` frequency bins per channel:

.. math::
    \\hat X_{f,d} = \\frac{1}{\\sqrt{L}} \\sum_{t=0}^{L-1} X_{t,d}\\, e^{-2\\pi i f t / L},
    \\qquad f = 0..\\lfloor L/2 \\rfloor

* :class:`LearnableFrequencyFilter` — FMLP-Rec (Zhou et al., "Filter-enhanced MLP is
  All You Need for Sequential Recommendation", WWW 2022, Eq. 5–7): one learnable
  complex weight per bin and channel,

  .. math::
      \\tilde X = \\mathcal{F}^{-1}\\big(W \\odot \\mathcal{F}(X)\\big),
      \\qquad W \\in \\mathbb{C}^{(\\lfloor L/2 \\rfloor + 1) \\times D}

  i.e. a circular convolution of every channel with a learned kernel of length ``L``.
* :class:`FrequencyRescale` — BSARec's "beyond self-attention" inductive bias (Shin et
  al., "An Attentive Inductive Bias for Sequential Recommendation beyond the
  Self-Attention", AAAI 2024, Eq. 7–9): the low band (the first ``c // 2 + 1`` bins,
  with ``c`` the paper's cut-off) is kept, the rest rescaled by a learned ``β²`` per
  channel,

  .. math::
      \\mathrm{LFC}(X) = \\mathcal{F}^{-1}(\\mathbb{1}[f \\le \\lfloor c/2 \\rfloor]\\,\\mathcal{F}(X)),
      \\qquad
      \\mathrm{HFC}(X) = X - \\mathrm{LFC}(X), \\qquad
      \\tilde X = \\mathrm{LFC}(X) + \\beta^2 \\odot \\mathrm{HFC}(X)

Neither layer is causal: every position of the window sees every other one (the
filter is circular). A model built on them trains one target per window, on its
newest position (``train.samples="prefixes"``), where everything in the window
is the past.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LearnableFrequencyFilter(nn.Module):
    """FMLP-Rec's filter: ``irfft(W * rfft(X))`` over the sequence axis with learnable complex ``W``.

    Args:
        window: the window length ``L`` the filter is defined for.
        hidden_size: channels ``D``.
        init_std: the real and imaginary parts of ``W`` start as ``N(0, init_std^2)``
            (0.02 in FMLP-Rec's code).

    Shapes:
        ``(B, L, D)`` -> ``(B, L, D)``; ``L`` must equal ``window``.
    """

    def __init__(self, window: int, hidden_size: int, init_std: float = 0.02) -> None:
        super().__init__()
        self.window = int(window)
        self.init_std = float(init_std)
        self.weight = nn.Parameter(torch.empty(self.window // 2 + 1, hidden_size, 2))  # (F, D, re/im)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=self.init_std)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.window:
            raise ValueError(f"the filter is defined for windows of {self.window} positions, "
                             f"got {x.shape[1]}")
        spectrum = torch.fft.rfft(x, dim=1, norm="ortho")  # (B, F, D) complex
        filtered = spectrum * torch.view_as_complex(self.weight)  # (B, F, D)
        return torch.fft.irfft(filtered, n=self.window, dim=1, norm="ortho")  # (B, L, D)

    def extra_repr(self) -> str:
        return f"window={self.window}, bins={self.weight.shape[0]}, hidden_size={self.weight.shape[1]}"


def low_pass(x: Tensor, kept_bins: int) -> Tensor:
    """The part of ``x`` in the first ``kept_bins`` real-DFT bins along dim 1.

    Args:
        x: ``(B, L, D)``.
        kept_bins: ``k >= 1`` bins kept (``f < k``), the others zeroed.

    Returns:
        ``(B, L, D)`` ``irfft(1[f < k] * rfft(x))``.
    """
    length = x.shape[1]
    spectrum = torch.fft.rfft(x, dim=1, norm="ortho")  # (B, F, D)
    keep = torch.arange(spectrum.shape[1], device=x.device) < kept_bins  # (F,)
    spectrum = spectrum * keep.to(spectrum.real.dtype)[None, :, None]
    return torch.fft.irfft(spectrum, n=length, dim=1, norm="ortho")  # (B, L, D)


class FrequencyRescale(nn.Module):
    """BSARec's inductive bias: keep the low band, rescale the high band by a learned ``β²``.

    Args:
        hidden_size: channels ``D``.
        cutoff: the paper's ``c``; the low band is the first ``c // 2 + 1`` bins.

    Shapes:
        ``(B, L, D)`` -> ``(B, L, D)``.
    """

    def __init__(self, hidden_size: int, cutoff: int) -> None:
        super().__init__()
        if cutoff < 0:
            raise ValueError(f"cutoff c must be >= 0, got {cutoff}")
        self.cutoff = int(cutoff)
        self.sqrt_beta = nn.Parameter(torch.empty(hidden_size))  # (D,) beta = sqrt_beta^2
        self.reset_parameters()

    @property
    def kept_bins(self) -> int:
        return self.cutoff // 2 + 1

    def reset_parameters(self) -> None:
        nn.init.normal_(self.sqrt_beta)  # N(0, 1), as BSARec's code draws it

    def forward(self, x: Tensor) -> Tensor:
        low = low_pass(x, self.kept_bins)  # (B, L, D)
        return low + self.sqrt_beta.square() * (x - low)  # (B, L, D)

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, kept_bins={self.kept_bins}"


__all__ = ["FrequencyRescale", "LearnableFrequencyFilter", "low_pass"]
