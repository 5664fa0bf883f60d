"""SASRec: self-attentive sequential recommendation.

Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018.

The sequence is embedded (items + positions), passed through causal transformer
blocks, and the state at position ``t`` scores the next item with the *same*
item table used at the input (tied embeddings):

.. math::
    F = \\mathrm{Transformer}(\\mathrm{LN}(\\mathrm{Dropout}(M_{s} + P))), \\qquad
    r_{t,i} = F_t^\\top M_i

The transformer is the default sequence encoder; ``encoder="gru"`` or
``encoder="session_gnn"`` swaps in another causal encoder of
:mod:`graphrec.nn.encoders` (same embedding, tied table and losses), so that the
next-item model compares encoders under one recipe.

The user's interest is the state at the newest position, ``(B, 1, D)``. Training
accepts packed batches (several sequences per row, :mod:`graphrec.data.packing`;
transformer encoder only) and scores every non-padding position at once through
:func:`graphrec.losses.next_item_loss` (full softmax by default; the original
paper's BCE with one negative is ``loss="bce", num_negatives=1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.user_sampler import UserCutSampler, draw_like
from graphrec.losses import NEXT_ITEM_LOSSES, next_item_loss
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig, SASRecFamilyConfig
from graphrec.nn.embedding import SequenceEmbedding, leading_padding, trim_left_padding
from graphrec.nn.encoders import build_sequence_encoder, resolve_encoder

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext


#: how SASRec's training rows become samples (see :class:`SASRecConfig`)
SINGLE_VECTOR_RECIPES = ("dense", "comirec")


@dataclass(frozen=True)
class SASRecConfig(SASRecFamilyConfig):
    """SASRec's options: exactly the family's fields and defaults.

    Attributes:
        hidden_size: ``D`` (default 64).
        num_layers: transformer blocks (default 2).
        num_heads: attention heads (default 2).
        dropout: embedding, attention and residual dropout (default 0.5).
        max_len: longest input window (default 50).
        loss: ``"ce"`` (full softmax), ``"sampled"`` (shared negatives) or ``"bce"``.
        num_negatives: negatives for ``"sampled"`` (shared) / ``"bce"`` (per position).
        init_std: std of the normal item/position initialisation (default 0.02).
        ffn_multiplier: feed-forward width as a multiple of ``D`` (default 1, as in the paper).
        activation: feed-forward activation, ``"relu"`` (default) or ``"gelu"``.
        encoder: sequence encoder, ``"transformer"`` (default, SASRec), ``"gru"`` or
            ``"session_gnn"`` (:func:`graphrec.nn.encoders.build_sequence_encoder`;
            ``num_layers``/``num_heads``/``dropout`` go to it, ``ffn_multiplier`` and
            ``activation`` are transformer-only). Only the transformer accepts packed
            batches (``supports_packing``).
        recipe: ``"dense"`` (default) trains every position of every training row;
            ``"comirec"`` trains ComiRec's samples instead (users drawn uniformly, one cut
            ``k >= 4`` over the user's whole sequence, the newest state scores the single
            target; :class:`~graphrec.data.user_sampler.UserCutSampler`), the recipe the
            multi-interest papers train with, for a single vector under the same recipe
            (``loss="sampled"`` gives their sampled softmax, with uniform negatives).
    """

    recipe: str = "dense"

    def validate(self) -> None:
        super().validate()
        if self.loss not in NEXT_ITEM_LOSSES:
            raise ValueError(f"model.loss: unknown loss {self.loss!r}; valid: {list(NEXT_ITEM_LOSSES)}")
        if self.recipe not in SINGLE_VECTOR_RECIPES:
            raise ValueError(f"model.recipe: unknown recipe {self.recipe!r}; "
                             f"valid: {list(SINGLE_VECTOR_RECIPES)}")
        try:
            resolve_encoder(self.encoder)
        except ValueError as exc:
            raise ValueError(f"model.encoder: {exc}") from None


class SASRec(SequentialRecommender):
    """Next-item recommender with tied item embeddings: SASRec's causal transformer, or any causal encoder.

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`SASRecConfig`); its fields may also be given as
            keywords (``SASRec(n, hidden_size=8)``), replacing those of ``config``.

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    supports_packing = True
    Config: ClassVar[type[ModelConfig]] = SASRecConfig
    config: SASRecConfig
    #: ``recipe="comirec"``: draws the training samples (attached by :meth:`from_context`)
    user_sampler: UserCutSampler | None = None

    def __init__(self, num_items: int, config: SASRecConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.embedding = SequenceEmbedding(num_items, config.hidden_size, config.max_len, config.dropout,
                                           config.init_std)
        self.encoder_name = config.encoder.lower()
        self.encoder = build_sequence_encoder(
            config.encoder, config.hidden_size, config.num_layers, config.num_heads, config.dropout,
            config.ffn_multiplier, config.activation
        )
        self.supports_packing = bool(getattr(self.encoder, "supports_packing", False))

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.encoder.reset_parameters()  # type: ignore[operator]  # nn.Module attributes are typed loosely

    def encode(
        self,
        input_ids: Tensor,
        segment_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        width: int | None = None,
    ) -> Tensor:
        """``(B, L)`` left-padded ids -> ``(B, L, D)`` states (zero at padding).

        ``segment_ids``/``position_ids`` describe packed rows (:mod:`graphrec.data.packing`);
        ``width`` is the window width ``position_ids`` refer to (default ``L``).
        """
        valid = input_ids > 0  # (B, L)
        x = self.embedding(input_ids, position_ids, width, valid=valid)  # (P, D) real positions only
        return self.encoder(x, valid, segment_ids, input_ids=input_ids)  # (B, L, D)

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` defaults to the split's window length and may not be shorter."""
        ctx.window_options(options)
        model = cls(ctx.num_items, **options)
        if model.config.recipe == "comirec":
            model.user_sampler = ctx.user_cut_sampler(model.config.max_len)
        return model

    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """The rows as they are, or under ``recipe="comirec"`` one cut of as many sampled users
        (its target on the newest position of ``target_ids``, zeros elsewhere)."""
        if self.config.recipe != "comirec":
            return batch
        users, inputs, targets = draw_like(self.user_sampler, batch.input_ids, generator)
        target_ids = torch.zeros_like(inputs)
        target_ids[:, -1] = targets  # (B, L): only the newest state is trained
        return SeqBatch(input_ids=inputs, user_ids=users, target_ids=target_ids)

    def interests(self, batch: SeqBatch) -> Tensor:
        if batch.segment_ids is not None:
            raise ValueError("interests needs one sequence per row; packed batches are for training")
        (input_ids,) = trim_left_padding(batch.input_ids)
        return self.encode(input_ids)[:, -1:]  # (B, 1, D)

    def item_embeddings(self) -> Tensor:
        return self.embedding.item.weight  # (N + 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("SASRec.loss_terms needs a training batch with target_ids")
        width = batch.input_ids.shape[1]
        start = leading_padding(batch.input_ids)  # all-padding columns cost nothing when dropped

        def cut(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[:, start:]  # (B, L - start)

        hidden = self.encode(
            batch.input_ids[:, start:], cut(batch.segment_ids), cut(batch.position_ids), width
        )  # (B, L', D)
        target_ids = batch.target_ids[:, start:]  # (B, L')
        rec = next_item_loss(hidden, target_ids, self.item_embeddings(), self.config.loss,
                             self.config.num_negatives)
        return {"rec": rec}

    def extra_repr(self) -> str:
        return (f"num_items={self.num_items}, loss={self.config.loss!r}, "
                f"num_negatives={self.config.num_negatives}, encoder={self.encoder_name!r}")


__all__ = ["SASRec", "SASRecConfig"]
