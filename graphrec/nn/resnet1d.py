"""A 1-D residual convolutional encoder over left-padded sequences (DSIE's global scale).

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, in one dimension;
used by DSIE (arXiv 2310.10025) to encode a whole interaction sequence.

Each block is two "same"-padded convolutions over the time axis with a ReLU between
and an identity shortcut:

.. math::
    H^{l} = \\mathrm{ReLU}\\big(H^{l-1} + \\mathrm{Conv}_2(\\mathrm{ReLU}(\\mathrm{Conv}_1(H^{l-1})))\\big)

Padding positions are zeroed before every convolution, so the items of a row never
mix with its padding and the output is zero at padding. With ``kernel_size = 1`` every
block acts on each position alone: the encoder is then order-free (a permutation of
the real items permutes the output the same way).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class ResidualConvBlock(nn.Module):
    """Two masked 1-D convolutions with a ReLU and an identity shortcut.

    Args:
        hidden_size: channels ``D``.
        kernel_size: odd kernel width (default 3).
        dropout: dropout after the second convolution (default 0.0).

    Shapes:
        ``forward(x, valid)``: ``(B, W, D)``, ``(B, W)`` bool -> ``(B, W, D)``.
    """

    def __init__(self, hidden_size: int, kernel_size: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(hidden_size, hidden_size, kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(hidden_size, hidden_size, kernel_size, padding=pad)
        self.drop = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            assert conv.bias is not None
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        mask = valid.unsqueeze(1).to(x.dtype)  # (B, 1, W)
        h = x.transpose(1, 2) * mask  # (B, D, W)
        y = self.conv2(F.relu(self.conv1(h)) * mask)  # (B, D, W)
        out = F.relu(h + self.drop(y)) * mask  # (B, D, W)
        return out.transpose(1, 2)  # (B, W, D)


class ResNet1d(nn.Module):
    """A stack of :class:`ResidualConvBlock` (see the module docstring).

    Args:
        hidden_size: ``D``.
        num_blocks: residual blocks (default 2).
        kernel_size: odd kernel width (default 3; 1 makes the encoder order-free).
        dropout: dropout inside each block (default 0.0).

    Shapes:
        ``forward(x, valid)``: ``(B, W, D)``, ``(B, W)`` bool -> ``(B, W, D)``, zero at padding.
    """

    def __init__(self, hidden_size: int, num_blocks: int = 2, kernel_size: int = 3,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.blocks = nn.ModuleList(ResidualConvBlock(hidden_size, kernel_size, dropout)
                                    for _ in range(num_blocks))

    def reset_parameters(self) -> None:
        for block in self.blocks:
            block.reset_parameters()  # type: ignore[operator]  # ModuleList items are typed as Module

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        h = x * valid.unsqueeze(-1).to(x.dtype)  # (B, W, D)
        for block in self.blocks:
            h = block(h, valid)  # (B, W, D)
        return h

    def extra_repr(self) -> str:
        return f"num_blocks={len(self.blocks)}, kernel_size={self.kernel_size}"


__all__ = ["ResNet1d", "ResidualConvBlock"]
