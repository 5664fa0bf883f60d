"""Post-LayerNorm encoders over whole windows: FMLP-Rec's filter blocks and BSARec's blocks.

The S3Rec family of code (S3Rec, FMLP-Rec, BSARec) encodes a left-padded window
of fixed width ``L`` with every position present, padding included (it carries
its position vector), and normalises *after* each residual (post-LN, as BERT):

.. math::
    H' = \\mathrm{LN}\\big(H + \\mathrm{Dropout}(\\mathrm{Mix}(H))\\big), \\qquad
    H'' = \\mathrm{LN}\\big(H' + \\mathrm{Dropout}(W_2\\,\\mathrm{GELU}(W_1 H' + b_1) + b_2)\\big)

with the token mixer chosen by ``mixer``:

* ``"filter"`` — FMLP-Rec: :math:`\\mathrm{Mix}(H) = \\mathcal{F}^{-1}(W \\odot \\mathcal{F}(H))`
  (:class:`~graphrec.nn.frequency.LearnableFrequencyFilter`);
* ``"attention"`` — SASRec's causal self-attention (a padding query attends to itself);
* ``"bsa"`` — BSARec (Eq. 10): the two normalised branches mixed by ``α``,

  .. math::
      H' = \\alpha\\,\\mathrm{LN}\\big(H + \\mathrm{Dropout}(\\mathrm{LFC}(H)
        + \\beta^2 \\mathrm{HFC}(H))\\big)
      + (1 - \\alpha)\\,\\mathrm{LN}\\big(H + \\mathrm{Dropout}(\\mathrm{MHA}(H))\\big)

  (:class:`~graphrec.nn.frequency.FrequencyRescale`), so ``α = 1`` is the frequency
  branch alone and ``α = 0`` attention alone.

The frequency mixers see the whole window, so the encoder is causal only with
``mixer="attention"``; :attr:`WindowEncoder.causal` says which.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from graphrec.nn.dropout import Dropout
from graphrec.nn.frequency import FrequencyRescale, LearnableFrequencyFilter
from graphrec.nn.transformer import attention, causal_padding_mask

#: token mixers of :class:`WindowEncoder`
MIXERS = ("filter", "bsa", "attention")

#: LayerNorm epsilon of the S3Rec-family code
LN_EPS = 1e-12


class PaddedSelfAttention(nn.Module):
    """Causal multi-head self-attention over a whole ``(B, L, D)`` window (separate Q, K, V maps).

    .. math::
        \\mathrm{MHA}(H) = W_O\\,\\big[\\mathrm{Attn}(HW_Q^h, HW_K^h, HW_V^h)\\big]_{h=1..H}

    with :func:`graphrec.nn.transformer.attention` under
    :func:`~graphrec.nn.transformer.causal_padding_mask` and dropout on the weights.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, length, d = x.shape

        def heads(t: Tensor) -> Tensor:
            return t.view(b, length, self.num_heads, d // self.num_heads).transpose(1, 2)  # (B, H, L, d)

        p = self.dropout if self.training else 0.0
        y = attention(heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), mask, p)  # (B, H, L, d)
        return self.out(y.transpose(1, 2).reshape(b, length, d))  # (B, L, D)


class WindowBlock(nn.Module):
    """One post-LN block: a token mixer (filter, attention or both), then the feed-forward net.

    Args:
        mixer: ``"filter"``, ``"attention"`` or ``"bsa"`` (see the module docstring).
        window: ``L`` (the filter's length).
        hidden_size / num_heads: ``D`` and attention heads.
        dropout: residual, feed-forward and attention-weight dropout.
        ffn_multiplier: FFN inner width as a multiple of ``D`` (4 in FMLP-Rec and BSARec).
        alpha / cutoff: BSARec's ``α`` and ``c`` (``"bsa"`` only).
    """

    def __init__(self, mixer: str, window: int, hidden_size: int, num_heads: int, dropout: float,
                 ffn_multiplier: int = 4, alpha: float = 0.7, cutoff: int = 5) -> None:
        super().__init__()
        if mixer not in MIXERS:
            raise ValueError(f"unknown mixer {mixer!r}; valid: {list(MIXERS)}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.mixer = mixer
        self.alpha = float(alpha)
        self.drop = Dropout(dropout)
        self.filter: nn.Module | None = None
        self.attn: PaddedSelfAttention | None = None
        if mixer == "filter":
            self.filter = LearnableFrequencyFilter(window, hidden_size)
        if mixer == "bsa":
            self.filter = FrequencyRescale(hidden_size, cutoff)
        if mixer in ("attention", "bsa"):
            self.attn = PaddedSelfAttention(hidden_size, num_heads, dropout)
        self.filter_norm = nn.LayerNorm(hidden_size, eps=LN_EPS)
        self.attn_norm = nn.LayerNorm(hidden_size, eps=LN_EPS)
        self.ffn_in = nn.Linear(hidden_size, ffn_multiplier * hidden_size)
        self.ffn_out = nn.Linear(ffn_multiplier * hidden_size, hidden_size)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=LN_EPS)

    def frequency_branch(self, x: Tensor) -> Tensor:
        """``LN(X + Dropout(filter(X)))``, ``(B, L, D)``."""
        assert self.filter is not None
        return self.filter_norm(x + self.drop(self.filter(x)))

    def attention_branch(self, x: Tensor, mask: Tensor) -> Tensor:
        """``LN(X + Dropout(MHA(X)))``, ``(B, L, D)``."""
        assert self.attn is not None
        return self.attn_norm(x + self.drop(self.attn(x, mask)))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.mixer == "filter":
            h = self.frequency_branch(x)  # (B, L, D)
        elif self.mixer == "attention":
            h = self.attention_branch(x, mask)
        else:
            h = self.alpha * self.frequency_branch(x) + (1.0 - self.alpha) * self.attention_branch(x, mask)
        return self.ffn_norm(h + self.drop(self.ffn_out(F.gelu(self.ffn_in(h)))))  # (B, L, D)


class WindowEncoder(nn.Module):
    """A stack of :class:`WindowBlock` over a whole left-padded window.

    Args:
        mixer: the blocks' token mixer (:data:`MIXERS`).
        window: ``L``, the window width (every input has exactly ``L`` columns).
        hidden_size, num_layers, num_heads, dropout, ffn_multiplier, alpha, cutoff: as
            :class:`WindowBlock`.
        init_std: linear weights start as ``N(0, init_std^2)`` with zero biases (the
            S3Rec-family initialisation).

    Shapes:
        ``x``: ``(B, L, D)`` embedded window (padding positions included), ``valid``:
        ``(B, L)`` bool -> ``(B, L, D)``.
    """

    def __init__(self, mixer: str, window: int, hidden_size: int, num_layers: int = 2, num_heads: int = 1,
                 dropout: float = 0.5, ffn_multiplier: int = 4, alpha: float = 0.7, cutoff: int = 5,
                 init_std: float = 0.02) -> None:
        super().__init__()
        self.mixer = mixer
        self.window = int(window)
        self.init_std = float(init_std)
        self.layers = nn.ModuleList(
            WindowBlock(mixer, window, hidden_size, num_heads, dropout, ffn_multiplier, alpha, cutoff)
            for _ in range(num_layers)
        )
        self.reset_parameters()

    @property
    def causal(self) -> bool:
        """True when a position's output depends on its own past only (``mixer="attention"``)."""
        return self.mixer == "attention"

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=self.init_std)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
            elif isinstance(module, (LearnableFrequencyFilter, FrequencyRescale)):
                module.reset_parameters()

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        if x.shape[1] != self.window:
            raise ValueError(f"the encoder reads windows of {self.window} positions, got {x.shape[1]}")
        mask = causal_padding_mask(valid)  # (B, 1, L, L)
        for layer in self.layers:
            x = layer(x, mask)  # (B, L, D)
        return x

    def extra_repr(self) -> str:
        return f"mixer={self.mixer!r}, window={self.window}"


__all__ = ["MIXERS", "PaddedSelfAttention", "WindowBlock", "WindowEncoder"]
