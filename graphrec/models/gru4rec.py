"""GRU4Rec: recurrent next-item recommendation.

Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016;
trained here on all positions of left-padded sequences (Tan et al., DLRS 2016 style) with the
library's next-item losses and tied item embeddings:

.. math::
    h_t = \\mathrm{GRU}(\\mathrm{Dropout}(M_{s_t}), h_{t-1}), \\qquad
    r_{t,i} = (W h_t + b)^\\top M_i

Padding never enters the recurrence: each batch is rotated to right padding and
packed (:func:`torch.nn.utils.rnn.pack_padded_sequence`), so a sequence's states
are identical whatever its amount of left padding. The user's interest is the
state after the newest item, ``(B, 1, D)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from graphrec.data.batch import SeqBatch
from graphrec.losses import NEXT_ITEM_LOSSES, next_item_loss
from graphrec.models.base import SequentialRecommender
from graphrec.nn.dropout import Dropout
from graphrec.nn.embedding import trim_left_padding


def _rotation(shift: Tensor, length: int) -> Tensor:
    """``(B, L)`` gather index rotating each row left by ``shift[b]``: ``(t + shift_b) mod L``.

    With ``shift = L - n`` (``n`` real items per row) it turns left padding into
    right padding; ``shift = n - L`` turns it back.
    """
    cols = torch.arange(length, device=shift.device)
    return (cols[None, :] + shift[:, None]) % length  # (B, L)


class GRU4Rec(SequentialRecommender):
    """GRU sequence encoder with tied item embeddings.

    Args:
        num_items: number of real items ``N``.
        hidden_size: embedding and GRU width ``D`` (default 64).
        num_layers: stacked GRU layers (default 1).
        dropout: dropout on the input embeddings and between GRU layers (default 0.25).
        loss: ``"ce"`` (full softmax), ``"sampled"`` (shared negatives) or ``"bce"``.
        num_negatives: negatives for ``"sampled"`` (shared) / ``"bce"`` (per position).
        init_std: std of the normal item initialisation (default 0.02).

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    def __init__(
        self,
        num_items: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.25,
        loss: str = "ce",
        num_negatives: int = 256,
        init_std: float = 0.02,
    ) -> None:
        super().__init__(num_items)
        if loss not in NEXT_ITEM_LOSSES:
            raise ValueError(f"unknown loss {loss!r} for GRU4Rec; valid: {list(NEXT_ITEM_LOSSES)}")
        self.loss = loss
        self.num_negatives = int(num_negatives)
        self.init_std = float(init_std)
        self.item = nn.Embedding(self.num_items + 1, hidden_size, padding_idx=0)
        self.dropout = Dropout(dropout)
        self.gru = nn.GRU(
            hidden_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item.weight, std=self.init_std)
        with torch.no_grad():
            self.item.weight[0].zero_()
        self.gru.reset_parameters()
        self.proj.reset_parameters()

    def _run(self, input_ids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """GRU over the real items; returns right-padded outputs, the last state and the lengths."""
        b, length = input_ids.shape
        lengths = (input_ids > 0).sum(dim=1)  # (B,)
        right = input_ids.gather(1, _rotation(length - lengths, length))  # (B, L), real items first
        x = self.dropout(self.item(right))  # (B, L, D)
        packed = pack_padded_sequence(
            x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
        )  # an all-padding row runs one padding step: finite, never scored
        out, h_n = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=length)  # (B, L, D), 0 past n_b
        return out, h_n[-1], lengths  # (B, L, D), (B, D), (B,)

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` left-padded ids -> ``(B, L, D)`` per-position states aligned with the input."""
        out, _, lengths = self._run(input_ids)
        length = input_ids.shape[1]
        back = _rotation(lengths - length, length)  # (B, L): left[b, t] = right[b, (t - L + n_b) mod L]
        left = out.gather(1, back.unsqueeze(-1).expand_as(out))  # (B, L, D)
        return self.proj(left)

    def interests(self, batch: SeqBatch) -> Tensor:
        (input_ids,) = trim_left_padding(batch.input_ids)
        _, last, _ = self._run(input_ids)
        return self.proj(last).unsqueeze(1)  # (B, 1, D)

    def item_embeddings(self) -> Tensor:
        return self.item.weight  # (N + 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("GRU4Rec.loss_terms needs a training batch with target_ids")
        input_ids, target_ids = trim_left_padding(batch.input_ids, batch.target_ids)
        hidden = self.encode(input_ids)  # (B, L', D)
        rec = next_item_loss(hidden, target_ids, self.item_embeddings(), self.loss, self.num_negatives)
        return {"rec": rec}

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}, loss={self.loss!r}, num_negatives={self.num_negatives}"
