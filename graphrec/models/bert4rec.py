"""BERT4Rec: a bidirectional transformer trained by the Cloze task.

Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder
Representations from Transformer", CIKM 2019.

**Training** (§3.6). Each training sequence (the last ``L`` items of the row's
training part: the inputs shifted left by one and the last target appended) has
:math:`\\max(1, \\lfloor \\rho n + \\tfrac12 \\rfloor)` of its ``n`` items replaced by the mask token
``N + 1`` (:func:`cloze_mask`, in the batch step); the bidirectional encoder
(:class:`~graphrec.nn.transformer.CausalTransformerEncoder` with ``causal=False``, SASRec's
blocks) reads the masked sequence and *only the masked positions* are scored, with
a full softmax over the ``N`` items:

.. math::
    P(v \\mid h_t) = \\mathrm{softmax}\\big(\\mathrm{GELU}(h_t W^P + b^P) E^\\top + b^O\\big)_v,
    \\qquad
    \\mathcal{L} = \\frac{1}{|\\mathcal{S}_m|} \\sum_{t \\in \\mathcal{S}_m} -\\log P(v_t \\mid h_t)

(Eq. 7 and the Cloze loss; :math:`E` is the input item table, tied; :math:`\\mathcal{S}_m`
the masked positions of the batch). The term ``"rec"`` is a mean over masked
positions, the unit ``"masked"`` counted in :meth:`BERT4Rec.loss_counts`. As in the
released code every chosen item becomes ``[mask]`` (its ``mask_prob=1.0``); the
paper's extra samples that mask only the last item are ``mask_last_ratio``.

**Inference** (§3.6). The mask token is appended after the history (the window
shifted left by one, dropping its oldest item when it is full) and the state at
that last position scores every item: the interest is
:math:`[\\mathrm{GELU}(h_L W^P + b^P);\\ 1]` and the item table :math:`[E;\\ b^O]`, so the
shared scorer's dot product is exactly Eq. 7's logit.

Deviations: SASRec's pre-LN blocks stand in for BERT's post-LN ones; the 80/10/10
replacement of BERT is not used (neither does the released BERT4Rec code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.losses import full_softmax_ce
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.nn.embedding import SequenceEmbedding, leading_padding, trim_left_padding
from graphrec.nn.encoders import build_sequence_encoder

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext


def cloze_mask(sequence: Tensor, ratio: float, mask_id: int, generator: torch.Generator | None = None,
               last_ratio: float = 0.0, max_predictions: int = 0) -> tuple[Tensor, Tensor]:
    """Mask random items of every left-padded row for the Cloze task.

    Row ``b`` with ``n > 0`` real items gets
    :math:`m = \\min(n, \\max(1, \\lfloor \\rho n + \\tfrac12 \\rfloor))` distinct positions,
    uniform over its real positions, replaced by ``mask_id`` (the count of the released
    BERT4Rec code, ``max(1, round(n * masked_lm_prob))``, rounded half up).
    With probability ``last_ratio`` a row instead masks only its newest item;
    ``max_predictions > 0`` caps :math:`m` (the released code's ``max_predictions_per_seq``,
    20 in Petrov & Macdonald's replicable recipe).

    Args:
        sequence: ``(B, L)`` left-padded item ids.
        ratio: :math:`\\rho \\in [0, 1]`.
        mask_id: the mask token (``> 0``, e.g. ``N + 1``).
        generator: random generator (draws on its device, moved to the batch).
        last_ratio: share of rows that mask only their last item (default 0).
        max_predictions: at most this many masked positions per row (default 0: no cap).

    Returns:
        ``(masked (B, L), targets (B, L))``: the masked rows, and the original item at
        every masked position (0 elsewhere).
    """
    if sequence.dim() != 2 or sequence.dtype != torch.long:
        raise ValueError(f"sequence must be a (B, L) int64 tensor, got {tuple(sequence.shape)} "
                         f"{sequence.dtype}")
    if not 0.0 <= ratio <= 1.0 or not 0.0 <= last_ratio <= 1.0:
        raise ValueError(f"ratio and last_ratio must lie in [0, 1], got {ratio}, {last_ratio}")
    if mask_id <= 0:
        raise ValueError(f"mask_id must be a positive id (0 is padding), got {mask_id}")
    bsz, length = sequence.shape
    device = sequence.device
    draw_device = generator.device if generator is not None else device
    real = sequence > 0  # (B, L)
    n = real.sum(dim=1)  # (B,)
    sizes = torch.arange(length + 1, dtype=torch.float64)  # (L + 1,) every possible n, exact in double
    table = torch.floor(ratio * sizes + 0.5).long().clamp_min(1)  # (L + 1,)
    count = torch.minimum(table.to(device)[n], n)  # (B,) m, 0 for empty rows
    if max_predictions > 0:
        count = count.clamp_max(max_predictions)
    keys = torch.rand((bsz, length), generator=generator, device=draw_device).to(device)  # (B, L)
    keys = keys.masked_fill(~real, 2.0)  # padding ranks last
    order = keys.argsort(dim=1, stable=True)  # (B, L)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(length, device=device).expand(bsz, length))
    chosen = real & (rank < count.unsqueeze(1))  # (B, L)
    if last_ratio > 0:
        draw = torch.rand((bsz,), generator=generator, device=draw_device).to(device)  # (B,)
        last_only = draw < last_ratio  # (B,)
        newest = torch.zeros_like(real)
        newest[:, -1] = real[:, -1]  # (B, L) the newest item of each row
        chosen = torch.where(last_only.unsqueeze(1), newest, chosen)  # (B, L)
    return sequence.masked_fill(chosen, mask_id), sequence * chosen


@dataclass(frozen=True)
class BERT4RecConfig(ModelConfig):
    """BERT4Rec's options.

    Not a :class:`~graphrec.models.config.SASRecFamilyConfig`: the loss is always the Cloze
    full softmax and the encoder always the bidirectional transformer.

    Attributes:
        hidden_size: ``D`` (default 64).
        num_layers: transformer blocks (default 2).
        num_heads: attention heads (default 2).
        dropout: embedding, attention and residual dropout (default 0.1, the paper's).
        max_len: longest input window, mask token included (default 50).
        mask_ratio: Cloze mask proportion :math:`\\rho` (default 0.2; the paper uses 0.6 on
            Beauty, 0.4 on Steam, 0.2 on MovieLens).
        mask_last_ratio: share of training rows that mask only their newest item (default 0).
        max_predictions: at most this many masked positions per row (default 0: no cap;
            Petrov & Macdonald's replicable recipe uses 20).
        init_std: std of the normal item/position initialisation (default 0.02).
        ffn_multiplier: feed-forward width as a multiple of ``D`` (default 4, as BERT).
        activation: feed-forward activation (default ``"gelu"``, as BERT).
        output_head: Eq. 7's output layer :math:`\\mathrm{GELU}(hW^P + b^P)E^\\top + b^O`
            (default True); False scores :math:`h E^\\top`.
    """

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.1
    max_len: int = 50
    mask_ratio: float = 0.2
    mask_last_ratio: float = 0.0
    max_predictions: int = 0
    init_std: float = 0.02
    ffn_multiplier: int = 4
    activation: str = "gelu"
    output_head: bool = True

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.mask_ratio <= 1.0:
            raise ValueError(f"model.mask_ratio must lie in (0, 1], got {self.mask_ratio}")
        if self.max_predictions < 0:
            raise ValueError(f"model.max_predictions must be >= 0 (0: no cap), got {self.max_predictions}")
        if not 0.0 <= self.mask_last_ratio <= 1.0:
            raise ValueError(f"model.mask_last_ratio must lie in [0, 1], got {self.mask_last_ratio}")


class BERT4Rec(SequentialRecommender):
    """Bidirectional transformer trained to recover masked items (Cloze).

    Args:
        num_items: number of real items ``N`` (the mask token is ``N + 1``).
        config: the options (:class:`BERT4RecConfig`); its fields may also be given as
            keywords (``BERT4Rec(n, mask_ratio=0.4)``), replacing those of ``config``.

    Shapes:
        ``interests``: ``(B, 1, D')``; ``item_embeddings``: ``(N + 1, D')`` with ``D' = D + 1``
        with the output head (the last column carries :math:`b^O`), ``D`` without.
        ``training_batch`` adds ``extras["cloze_ids"]`` and ``extras["cloze_targets"]``: ``(B, L)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "masked"}
    Config: ClassVar[type[ModelConfig]] = BERT4RecConfig
    config: BERT4RecConfig

    def __init__(self, num_items: int, config: BERT4RecConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        hidden = config.hidden_size
        self.embedding = SequenceEmbedding(num_items, hidden, config.max_len, config.dropout, config.init_std,
                                           mask_token=True)
        self.encoder = build_sequence_encoder("transformer", hidden, config.num_layers, config.num_heads,
                                              config.dropout, config.ffn_multiplier, config.activation,
                                              causal=False)
        self.head = nn.Linear(hidden, hidden) if config.output_head else None  # W^P, b^P
        self.output_bias = nn.Parameter(torch.zeros(num_items + 1)) if config.output_head else None  # b^O
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.encoder.reset_parameters()  # type: ignore[operator]  # nn.Module attributes are typed loosely
        if self.head is not None and self.output_bias is not None:
            self.head.reset_parameters()
            nn.init.zeros_(self.output_bias)

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` defaults to the split's window length and may not be shorter."""
        ctx.window_options(options)
        return cls(ctx.num_items, **options)

    @property
    def mask_id(self) -> int:
        """The mask token ``N + 1``."""
        assert self.embedding.mask_id is not None
        return self.embedding.mask_id

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` left-padded ids (mask tokens allowed) -> ``(B, L, D)`` bidirectional states."""
        valid = input_ids > 0  # (B, L)
        x = self.embedding(input_ids, valid=valid)  # (P, D)
        return self.encoder(x, valid)  # type: ignore[no-any-return]  # (B, L, D)

    def output(self, h: Tensor) -> Tensor:
        """``(..., D)`` states -> ``(..., D')`` query vectors of Eq. 7 (``[GELU(h W^P + b^P); 1]``)."""
        if self.head is None:
            return h
        projected = F.gelu(self.head(h))  # (..., D)
        return torch.cat([projected, torch.ones_like(projected[..., :1])], dim=-1)  # (..., D + 1)

    def item_embeddings(self) -> Tensor:
        table = self.embedding.item_table  # (N + 1, D), the mask row left out
        if self.output_bias is None:
            return table
        return torch.cat([table, self.output_bias.unsqueeze(1)], dim=1)  # (N + 1, D + 1): [E; b^O]

    def interests(self, batch: SeqBatch) -> Tensor:
        """Append ``[mask]`` after the history (shift left by one) and read its state."""
        if batch.segment_ids is not None:
            raise ValueError("interests needs one sequence per row; packed batches are for training")
        ids = batch.input_ids
        mask_column = torch.full_like(ids[:, :1], self.mask_id)  # (B, 1)
        (ids,) = trim_left_padding(torch.cat([ids[:, 1:], mask_column], dim=1))  # (B, L')
        return self.output(self.encode(ids)[:, -1:])  # (B, 1, D')

    # ------------------------------------------------------------------ training
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """Cloze inputs: ``extras["cloze_ids"]`` (masked) and ``extras["cloze_targets"]`` (B, L)."""
        if batch.target_ids is None:
            raise ValueError("BERT4Rec.training_batch needs a training batch with target_ids")
        last = batch.target_ids[:, -1:]  # (B, 1) the newest training item of each row
        if bool(((last[:, 0] == 0) & (batch.input_ids[:, -1] > 0)).any()):
            raise ValueError("BERT4Rec needs training rows whose last column has a target")
        sequence = torch.cat([batch.input_ids[:, 1:], last], dim=1)  # (B, L) last L training items
        masked, targets = cloze_mask(sequence, self.config.mask_ratio, self.mask_id, generator,
                                     self.config.mask_last_ratio, self.config.max_predictions)
        batch.extras["cloze_ids"], batch.extras["cloze_targets"] = masked, targets
        return batch

    def loss_counts(self, batch: SeqBatch) -> dict[str, float]:
        counts = super().loss_counts(batch)
        targets = batch.extras.get("cloze_targets")
        counts["masked"] = 0.0 if targets is None else float((targets > 0).sum())
        return counts

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if "cloze_ids" not in batch.extras or "cloze_targets" not in batch.extras:
            raise ValueError("BERT4Rec.loss_terms needs the Cloze inputs of its training_batch "
                             "(extras 'cloze_ids' and 'cloze_targets')")
        ids, targets = batch.extras["cloze_ids"], batch.extras["cloze_targets"]  # (B, L) each
        start = leading_padding(ids)
        ids, targets = ids[:, start:], targets[:, start:]  # (B, L')
        states = self.encode(ids)  # (B, L', D)
        picked = targets > 0  # (B, L') masked positions: the only ones scored
        if not bool(picked.any()):
            return {"rec": states.sum() * 0.0}
        h = self.output(states[picked])  # (P, D')
        return {"rec": full_softmax_ce(h, self.item_embeddings(), targets[picked])}

    def extra_repr(self) -> str:
        return (f"num_items={self.num_items}, mask_id={self.mask_id}, mask_ratio={self.config.mask_ratio}, "
                f"mask_last_ratio={self.config.mask_last_ratio}, output_head={self.head is not None}")


__all__ = ["BERT4Rec", "BERT4RecConfig", "cloze_mask"]
