"""GRU4Rec: recurrent next-item recommendation.

Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016;
trained here on all positions of left-padded sequences (Tan et al., DLRS 2016 style) with the
library's next-item losses and tied item embeddings:

.. math::
    h_t = \\mathrm{GRU}(\\mathrm{Dropout}(M_{s_t}), h_{t-1}), \\qquad
    r_{t,i} = (W h_t + b)^\\top M_i

The recurrence and ``W h + b`` are :class:`graphrec.nn.encoders.GRUSequenceEncoder`
(the ``gru`` encoder of SASRec too): padding never enters the recurrence, each batch
being rotated to right padding and packed, so a sequence's states are identical
whatever its amount of left padding. The user's interest is the state after the
newest item, ``(B, 1, D)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.losses import NEXT_ITEM_LOSSES, next_item_loss
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.nn.embedding import trim_left_padding
from graphrec.nn.encoders import GRUSequenceEncoder

#: parameter prefixes of checkpoints written before GRU4Rec was built on GRUSequenceEncoder
_OLD_PREFIXES = {"gru.": "encoder.gru.", "proj.": "encoder.proj."}


@dataclass(frozen=True)
class GRU4RecConfig(ModelConfig):
    """GRU4Rec's options.

    Attributes:
        hidden_size: embedding and GRU width ``D`` (default 64).
        num_layers: stacked GRU layers (default 1).
        dropout: dropout on the input embeddings and between GRU layers (default 0.25).
        loss: ``"ce"`` (full softmax), ``"sampled"`` (shared negatives) or ``"bce"``.
        num_negatives: negatives for ``"sampled"`` (shared) / ``"bce"`` (per position).
        init_std: std of the normal item initialisation (default 0.02).
    """

    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.25
    loss: str = "ce"
    num_negatives: int = 256
    init_std: float = 0.02

    def validate(self) -> None:
        if self.loss not in NEXT_ITEM_LOSSES:
            raise ValueError(f"model.loss: unknown loss {self.loss!r} for GRU4Rec; "
                             f"valid: {list(NEXT_ITEM_LOSSES)}")


class GRU4Rec(SequentialRecommender):
    """GRU sequence encoder with tied item embeddings.

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`GRU4RecConfig`); its fields may also be given as
            keywords (``GRU4Rec(n, hidden_size=8)``), replacing those of ``config``.

    Attributes:
        item: the ``(N + 1, D)`` item table (input and output, row 0 = padding).
        encoder: :class:`~graphrec.nn.encoders.GRUSequenceEncoder`, the GRU and ``W h + b``
            (state-dict keys ``encoder.gru.*``, ``encoder.proj.*``; checkpoints with the
            earlier ``gru.*``, ``proj.*`` keys still load).

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    Config: ClassVar[type[ModelConfig]] = GRU4RecConfig
    config: GRU4RecConfig

    def __init__(self, num_items: int, config: GRU4RecConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.item = nn.Embedding(self.num_items + 1, config.hidden_size, padding_idx=0)
        self.encoder = GRUSequenceEncoder(config.hidden_size, config.num_layers, config.dropout,
                                          input_dropout=config.dropout, reset=False)
        self.reset_parameters()
        self.register_load_state_dict_pre_hook(_rename_old_keys)

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item.weight, std=self.config.init_std)
        with torch.no_grad():
            self.item.weight[0].zero_()
        self.encoder.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` left-padded ids -> ``(B, L, D)`` states aligned with the input (0 at padding)."""
        return self.encoder(self.item(input_ids), input_ids > 0)  # type: ignore[no-any-return]

    def interests(self, batch: SeqBatch) -> Tensor:
        (input_ids,) = trim_left_padding(batch.input_ids)
        return self.encoder.last_state(self.item(input_ids), input_ids > 0).unsqueeze(1)  # (B, 1, D)

    def item_embeddings(self) -> Tensor:
        return self.item.weight  # (N + 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("GRU4Rec.loss_terms needs a training batch with target_ids")
        input_ids, target_ids = trim_left_padding(batch.input_ids, batch.target_ids)
        hidden = self.encode(input_ids)  # (B, L', D)
        rec = next_item_loss(hidden, target_ids, self.item_embeddings(), self.config.loss,
                             self.config.num_negatives)
        return {"rec": rec}

    def extra_repr(self) -> str:
        return (f"num_items={self.num_items}, loss={self.config.loss!r}, "
                f"num_negatives={self.config.num_negatives}")


def _rename_old_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    """Load-time hook: ``gru.*``/``proj.*`` of older checkpoints -> ``encoder.gru.*``/``encoder.proj.*``."""
    for key in list(state_dict):
        for old, new in _OLD_PREFIXES.items():
            if key.startswith(prefix + old):
                state_dict[prefix + new + key[len(prefix + old):]] = state_dict.pop(key)


__all__ = ["GRU4Rec", "GRU4RecConfig"]
