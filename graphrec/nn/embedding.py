"""Input embedding of left-padded item sequences: items + learned positions.

Kang & McAuley, "Self-Attentive Sequential Recommendation" (SASRec), ICDM 2018, §III-B:

.. math::
    \\hat{E}_t = \\mathrm{LayerNorm}\\big(\\mathrm{Dropout}(M_{s_t} + P_t)\\big)

Positions are counted from the *newest* item: on a window of length ``L <= max_len``
column ``t`` uses position row ``max_len - L + t``, so the newest item always gets
row ``max_len - 1`` — exactly the positions of the original SASRec on a window of
``max_len``, and independent of how much left padding a batch carries (which
makes :func:`trim_left_padding` exact).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphrec.nn.dropout import Dropout


def trim_left_padding(input_ids: Tensor, *others: Tensor | None) -> tuple[Tensor | None, ...]:
    """Drop the leading columns that are padding in every row of a left-padded batch.

    Args:
        input_ids: ``(B, L)`` left-padded ids (0 = padding).
        others: further ``(B, L, ...)`` tensors (or ``None``) sliced the same way.

    Returns:
        ``(input_ids[:, s:], *[o[:, s:] for o in others])`` with ``s`` the number of
        all-padding leading columns (at least one column is kept).
    """
    real_cols = (input_ids > 0).any(dim=0)  # (L,)
    start = int(real_cols.int().argmax()) if bool(real_cols.any()) else input_ids.shape[1] - 1
    if start == 0:
        return (input_ids, *others)
    return (input_ids[:, start:], *[o[:, start:] if o is not None else None for o in others])


class SequenceEmbedding(nn.Module):
    """Item + learned position embeddings, dropout and LayerNorm.

    Args:
        num_items: number of real items ``N`` (table has ``N + 1`` rows, row 0 = padding).
        hidden_size: embedding size ``D``.
        max_len: longest input window ``L`` accepted.
        dropout: dropout rate on the summed embedding (default 0.0).
        init_std: standard deviation of the normal initialisation (default 0.02); keep
            it small when the item table is also the output layer.
        layer_norm: apply LayerNorm after dropout (default True).

    Shapes:
        input ``(B, L)`` item ids, ``L <= max_len`` -> output ``(B, L, D)``.
    """

    def __init__(
        self,
        num_items: int,
        hidden_size: int,
        max_len: int,
        dropout: float = 0.0,
        init_std: float = 0.02,
        layer_norm: bool = True,
    ) -> None:
        super().__init__()
        self.num_items = int(num_items)
        self.max_len = int(max_len)
        self.init_std = float(init_std)
        self.item = nn.Embedding(self.num_items + 1, hidden_size, padding_idx=0)
        self.position = nn.Embedding(self.max_len, hidden_size)
        self.dropout = Dropout(dropout)
        self.norm = nn.LayerNorm(hidden_size) if layer_norm else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item.weight, std=self.init_std)
        nn.init.normal_(self.position.weight, std=self.init_std)
        with torch.no_grad():
            self.item.weight[0].zero_()
        if isinstance(self.norm, nn.LayerNorm):
            self.norm.reset_parameters()

    def forward(self, input_ids: Tensor) -> Tensor:
        length = input_ids.shape[1]
        if length > self.max_len:
            raise ValueError(f"input length {length} exceeds max_len={self.max_len} of the position table")
        positions = self.position.weight[self.max_len - length :]  # (L, D), newest = last row
        x = self.item(input_ids) + positions  # (B, L, D)
        return self.norm(self.dropout(x))

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}, max_len={self.max_len}"
