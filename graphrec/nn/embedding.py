"""Input embedding of left-padded item sequences: items + learned positions.

Kang & McAuley, "Self-Attentive Sequential Recommendation" (SASRec), ICDM 2018, §III-B:

.. math::
    \\hat{E}_t = \\mathrm{LayerNorm}\\big(\\mathrm{Dropout}(M_{s_t} + P_t)\\big)

Positions are counted from the *newest* item: on a window of length ``L <= max_len``
column ``t`` uses position row ``max_len - L + t``, so the newest item always gets
row ``max_len - 1`` — exactly the positions of the original SASRec on a window of
``max_len``, and independent of how much left padding a batch carries (which
makes :func:`trim_left_padding` exact). Every position-indexed table of the library
(position vectors, per-position maps and weights) is read this way, through
:func:`right_aligned`.

With ``mask_token=True`` the item table gets one more row, id ``N + 1``
(:attr:`SequenceEmbedding.mask_id`), the ``[mask]`` input of masked-item
(Cloze) training as in BERT4Rec (Sun et al., CIKM 2019). It is an input only:
a model scores against :attr:`SequenceEmbedding.item_table`, rows ``0..N``, so
the mask token never ranks and ``score_all`` keeps its ``(B, N + 1)`` shape.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphrec.nn.dropout import Dropout


def right_aligned(table: Tensor, width: int, what: str = "position table", dim: int = 0) -> Tensor:
    """The last ``width`` entries of a position-indexed table: the rows of a left-padded window.

    Positions are counted from the newest item: column ``c`` of a window of width ``W``
    uses row ``L - W + c`` of a table of ``L = table.shape[dim]`` rows, so the newest
    column always gets the last row.

    Args:
        table: ``(L, ...)`` (or ``L`` entries along ``dim``), one entry per position.
        width: ``W``, the window's width.
        what: the table's name, for the error.
        dim: the dimension that indexes positions (default 0).

    Returns:
        ``(W, ...)``: the view ``table[L - W:]`` along ``dim``.

    Raises:
        ValueError: when ``W > L`` (the table cannot hold the window).
    """
    length = table.shape[dim]
    if width > length:
        raise ValueError(f"input length {width} exceeds max_len={length} of the {what}")
    return table.narrow(dim, length - width, width)


def leading_padding(input_ids: Tensor) -> int:
    """Number of leading columns of a left-padded ``(B, L)`` batch that are padding in every row.

    At most ``L - 1``, so that slicing ``[:, s:]`` keeps at least one column.
    """
    real_cols = (input_ids > 0).any(dim=0)  # (L,)
    if not bool(real_cols.any()):
        return max(input_ids.shape[1] - 1, 0)
    return int(real_cols.int().argmax())


def trim_left_padding(input_ids: Tensor, *others: Tensor) -> tuple[Tensor, ...]:
    """Drop the leading columns that are padding in every row of a left-padded batch.

    Args:
        input_ids: ``(B, L)`` left-padded ids (0 = padding).
        others: further ``(B, L, ...)`` tensors sliced the same way.

    Returns:
        ``(input_ids[:, s:], *[o[:, s:] for o in others])`` with ``s = leading_padding(input_ids)``.
    """
    start = leading_padding(input_ids)
    return (input_ids[:, start:], *[o[:, start:] for o in others])


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
        mask_token: add row ``N + 1`` for a ``[mask]`` input token (default False:
            ``N + 1`` rows, parameters and initialisation draws as without the option).

    Attributes:
        mask_id: id of the mask token, ``N + 1`` (``None`` without ``mask_token``).
        item_table: ``(N + 1, D)`` the item rows ``0..N`` to score against (the
            whole table without ``mask_token``; a view without the mask row with it).

    Shapes:
        input ``(B, L)`` item ids, ``L <= max_len`` -> output ``(B, L, D)``; with a
        ``valid`` mask, ``(P, D)`` for its ``P`` True positions only (row-major).
    """

    def __init__(
        self,
        num_items: int,
        hidden_size: int,
        max_len: int,
        dropout: float = 0.0,
        init_std: float = 0.02,
        layer_norm: bool = True,
        mask_token: bool = False,
    ) -> None:
        super().__init__()
        self.num_items = int(num_items)
        self.max_len = int(max_len)
        self.init_std = float(init_std)
        self.mask_token = bool(mask_token)
        self.item = nn.Embedding(self.num_items + 1 + int(self.mask_token), hidden_size, padding_idx=0)
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

    @property
    def mask_id(self) -> int | None:
        """Item id of the ``[mask]`` token, ``N + 1``; ``None`` without ``mask_token``."""
        return self.num_items + 1 if self.mask_token else None

    @property
    def item_table(self) -> Tensor:
        """``(N + 1, D)`` item rows ``0..N`` (padding and real items) for scoring.

        Without ``mask_token`` this is ``item.weight`` itself; with it, the view
        ``item.weight[: N + 1]`` (gradients flow into the shared table).
        """
        weight = self.item.weight  # (N + 1 [+ 1], D)
        return weight[: self.num_items + 1] if self.mask_token else weight  # (N + 1, D)

    def forward(
        self,
        input_ids: Tensor,
        position_ids: Tensor | None = None,
        width: int | None = None,
        valid: Tensor | None = None,
    ) -> Tensor:
        """Embed ``(B, L)`` ids.

        Args:
            input_ids: ``(B, L)`` left-padded item ids (``mask_id`` allowed with ``mask_token``).
            position_ids: optional ``(B, L)`` column of each item in its own left-padded
                window of ``width`` columns (packed rows, :mod:`graphrec.data.packing`);
                ``None``: column ``t`` of this input.
            width: window width ``position_ids`` refer to (default ``L``; ignored
                without ``position_ids``).
            valid: optional ``(B, L)`` bool; when given only those positions are
                embedded and returned packed, skipping the work on padding.

        Returns:
            ``(B, L, D)``, or ``(P, D)`` with ``valid``.
        """
        length = input_ids.shape[1] if width is None or position_ids is None else int(width)
        positions = right_aligned(self.position.weight, length)  # (length, D), newest column -> last row
        offset = self.max_len - length
        if valid is not None:
            if position_ids is None:
                position_ids = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
            x = self.item(input_ids[valid]) + self.position(position_ids[valid] + offset)  # (P, D)
        elif position_ids is None:
            x = self.item(input_ids) + positions  # (B, L, D)
        else:
            x = self.item(input_ids) + self.position(position_ids + offset)  # (B, L, D)
        return self.norm(self.dropout(x))

    def extra_repr(self) -> str:
        mask = f", mask_id={self.mask_id}" if self.mask_token else ""
        return f"num_items={self.num_items}, max_len={self.max_len}{mask}"
