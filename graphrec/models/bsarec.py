"""BSARec: an attentive inductive bias beyond self-attention.

Shin, Choi, Wi & Park, "An Attentive Inductive Bias for Sequential Recommendation
beyond the Self-Attention", AAAI 2024.

FMLP-Rec's window model (:mod:`graphrec.models.fmlp`) with BSARec's token mixer
(:class:`~graphrec.nn.window_encoder.WindowEncoder`, ``mixer="bsa"``): the window's
low-frequency band plus its high band rescaled by a learned ``β²``, mixed with
causal self-attention by ``α``:

.. math::
    H' = \\alpha\\,\\mathrm{LN}\\big(H + \\mathrm{Dropout}(\\mathrm{LFC}(H)
    + \\beta^2 \\odot \\mathrm{HFC}(H))\\big)
    + (1 - \\alpha)\\,\\mathrm{LN}\\big(H + \\mathrm{Dropout}(\\mathrm{MHA}(H))\\big)

where LFC keeps the first ``c // 2 + 1`` bins of the window's real DFT and
``HFC = H - LFC`` (:class:`~graphrec.nn.frequency.FrequencyRescale`). As FMLP-Rec, it
trains one target per window, on the newest position (``train.samples=prefixes``).

Reading chosen where the released code and a padded window disagree: a padding
query attends only to itself (the released code's additive ``-10000`` mask lets an
all-masked padding row attend uniformly to the whole window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from graphrec.models.config import ModelConfig
from graphrec.models.fmlp import FMLPRec, FMLPRecConfig
from graphrec.nn.window_encoder import WindowEncoder


@dataclass(frozen=True)
class BSARecConfig(FMLPRecConfig):
    """BSARec's options: FMLP-Rec's plus ``α`` and ``c`` (defaults: the released Beauty run).

    Attributes:
        alpha: weight of the frequency branch against attention, in ``[0, 1]`` (0.7).
        cutoff: the paper's ``c``; the low band is the first ``c // 2 + 1`` DFT bins (5).
    """

    alpha: float = 0.7
    cutoff: int = 5

    def validate(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"model.alpha must lie in [0, 1], got {self.alpha}")


class BSARec(FMLPRec):
    """FMLP-Rec's window model with BSARec's mixer of rescaled frequencies and self-attention."""

    Config: ClassVar[type[ModelConfig]] = BSARecConfig
    config: BSARecConfig
    mixer: ClassVar[str] = "bsa"

    def build_encoder(self) -> WindowEncoder:
        c = self.config
        return WindowEncoder(self.mixer, c.max_len, c.hidden_size, c.num_layers, c.num_heads, c.dropout,
                             c.ffn_multiplier, alpha=c.alpha, cutoff=c.cutoff, init_std=c.init_std)


__all__ = ["BSARec", "BSARecConfig"]
