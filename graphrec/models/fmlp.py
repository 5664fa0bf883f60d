"""FMLP-Rec: filter-enhanced MLP for sequential recommendation.

Zhou, Yu, Zhao & Wen, "Filter-enhanced MLP is All You Need for Sequential
Recommendation", WWW 2022.

The window of the ``L`` newest items (left-padded, every position embedded) passes
through post-LN blocks whose token mixer is a learnable frequency-domain filter
(:class:`~graphrec.nn.frequency.LearnableFrequencyFilter`,
:class:`~graphrec.nn.window_encoder.WindowEncoder` with ``mixer="filter"``):

.. math::
    E = \\mathrm{Dropout}(\\mathrm{LN}(M_s + P)), \\qquad
    \\tilde H = \\mathcal{F}^{-1}\\big(W \\odot \\mathcal{F}(H)\\big), \\qquad
    r_i = F_L^\\top M_i

and the state at the newest position scores the next item against the tied item
table with the full softmax (the released code of the paper's successors, which
graphrec follows, trains cross-entropy over all items).

The filter is circular over the window, so every position sees every other one:
the model trains one target per window, on the newest position
(``train.samples="prefixes"``: every prefix of every training sequence is one
sample); a batch that carries targets at other positions is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.nn.dropout import Dropout
from graphrec.nn.embedding import SequenceEmbedding
from graphrec.nn.window_encoder import LN_EPS, WindowEncoder

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext


@dataclass(frozen=True)
class FMLPRecConfig(ModelConfig):
    """FMLP-Rec's options (defaults: the paper's Beauty setting as released).

    Attributes:
        hidden_size: ``D`` (64).
        num_layers: blocks (2).
        num_heads: attention heads, for the models that add attention (1).
        dropout: embedding, residual, feed-forward and attention dropout (0.5).
        max_len: the window ``L`` (50); every input is left-padded to it.
        ffn_multiplier: feed-forward width as a multiple of ``D`` (4).
        init_std: std of the normal initialisation of embeddings and linear maps (0.02).
    """

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 1
    dropout: float = 0.5
    max_len: int = 50
    ffn_multiplier: int = 4
    init_std: float = 0.02


class FMLPRec(SequentialRecommender):
    """Next-item recommender on a frequency-filter window encoder (one target per window).

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`FMLPRecConfig`); keywords replace its fields.

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    Config: ClassVar[type[ModelConfig]] = FMLPRecConfig
    config: FMLPRecConfig
    #: the token mixer of the encoder's blocks (:data:`graphrec.nn.window_encoder.MIXERS`)
    mixer: ClassVar[str] = "filter"

    def __init__(self, num_items: int, config: FMLPRecConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.embedding = SequenceEmbedding(num_items, config.hidden_size, config.max_len, dropout=0.0,
                                           init_std=config.init_std, layer_norm=False)
        self.embedding_norm = nn.LayerNorm(config.hidden_size, eps=LN_EPS)
        self.embedding_dropout = Dropout(config.dropout)
        self.encoder = self.build_encoder()

    def build_encoder(self) -> WindowEncoder:
        """The window encoder of this model's mixer (a subclass adds its own options)."""
        c = self.config
        return WindowEncoder(self.mixer, c.max_len, c.hidden_size, c.num_layers, c.num_heads, c.dropout,
                             c.ffn_multiplier, init_std=c.init_std)

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.embedding_norm.reset_parameters()
        self.encoder.reset_parameters()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` defaults to the split's window length and may not be shorter."""
        ctx.window_options(options)
        return cls(ctx.num_items, **options)

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L')`` left-padded ids, ``L' <= max_len`` -> ``(B, max_len, D)`` states of the full window."""
        window = self.config.max_len
        if input_ids.shape[1] > window:
            raise ValueError(f"input length {input_ids.shape[1]} exceeds max_len={window}")
        input_ids = F.pad(input_ids, (window - input_ids.shape[1], 0))  # (B, L) left-padded to the window
        x = self.embedding_dropout(self.embedding_norm(self.embedding(input_ids)))  # (B, L, D)
        return self.encoder(x, input_ids > 0)  # (B, L, D)

    def interests(self, batch: SeqBatch) -> Tensor:
        if batch.segment_ids is not None:
            raise ValueError(f"{type(self).__name__} needs one sequence per row")
        return self.encode(batch.input_ids)[:, -1:]  # (B, 1, D)

    def item_embeddings(self) -> Tensor:
        return self.embedding.item.weight  # (N + 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        """Full-softmax cross-entropy of each row's newest state against its one target.

        .. math::
            \\mathcal{L}_{rec} = -\\frac{1}{|B|} \\sum_{b} \\log
            \\frac{\\exp(F_{b,L}^\\top M_{y_b})}{\\sum_{i=1}^{N} \\exp(F_{b,L}^\\top M_i)}
        """
        if batch.target_ids is None:
            raise ValueError(f"{type(self).__name__}.loss_terms needs a training batch with target_ids")
        if bool((batch.target_ids[:, :-1] > 0).any()):
            raise ValueError(
                f"{type(self).__name__} sees the whole window at every position, so it trains one target "
                "per window, on the newest position: set train.samples=prefixes")
        targets = batch.target_ids[:, -1]  # (B,)
        rows = targets > 0
        state = self.encode(batch.input_ids[rows])[:, -1]  # (B', D)
        logits = state @ self.item_embeddings()[1:].T  # (B', N): padding never scores
        return {"rec": F.cross_entropy(logits, targets[rows] - 1)}

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}, mixer={self.mixer!r}"


__all__ = ["FMLPRec", "FMLPRecConfig"]
