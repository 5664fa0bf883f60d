"""DSSRec: disentangled latent seq2seq self-supervision for sequential recommendation.

Ma, Zhou, Cui, Yang, Zhu, "Disentangled Self-Supervision in Sequential Recommenders",
KDD 2020. No code of the paper is public; this is a reading of its equations.

**Encoder** (§4.3). SASRec's causal transformer (single-head by default, as the paper)
gives the states :math:`z_1 \\dots z_t` of a sequence; the intention-disentanglement layer
(:class:`~graphrec.nn.disentangle.IntentionDisentangle`) pools them into ``K`` intentions
:math:`\\phi^{(k)}(x_{1:t})`, with one bias set :math:`\\beta` for input sequences and one for
reversed future sequences. The item table embeds the inputs and scores the outputs.

**Training samples** (§4.2). The batch step (:meth:`DSSRec.training_batch`) draws, for
every training row, one split point ``t`` uniformly over its real positions with the
seeded generator (:func:`split_point_batch`) and returns, row-aligned, the prefix
:math:`x_{1:t}` (``input_ids``), the next item :math:`x_{t+1}` (``extras["target"]``) and the
reversed future :math:`x_{T:t+1}` (``extras["future"]``, left-padded so that
:math:`x_{t+1}`, the item nearest the split, is the newest column). The future is the
rest of the training row inside the loader's window (at most ``L`` items).

**Losses.**

* ``rec`` — seq2item, Eq. 6 (:func:`~graphrec.losses.disentangled_seq2item`): the best
  intention scores the next item against the next items of the whole batch under every
  intention of the row, scale :math:`1/\\sqrt D` (``seq2item="in_batch"``, the paper's).
  ``seq2item="full"`` (:func:`~graphrec.losses.max_interest_full_ce`) puts every item of
  the catalogue in the denominator, each scored by its best intention — the score the
  evaluation ranks by. It is the full cross-entropy recipe that trains SASRec fast here,
  applied to Eq. 6: 127 in-batch next items are a weak, popularity-biased set of
  negatives for a ranking over all items;
* ``s2s`` — latent seq2seq, Eq. 3 (:func:`~graphrec.losses.latent_seq2seq_loss`):
  :math:`\\phi^{(k)}(x_{1:t})` against :math:`\\phi^{(k)}(x_{T:t+1})`, every other (sample,
  intention) of the batch a negative, kept only for the :math:`\\lambda`-fraction
  (``keep_ratio``) of ``(u, t, k)`` with the smallest current loss (no gradient through
  the selection), averaged over the kept samples.

The paper minimises :math:`\\mathcal{L}_{s2i} + \\mathcal{L}_{s2s}`; the weights are
``train.loss_weights`` (``rec``, ``s2s``; 1 by default). Under DDP the in-batch negatives
and the selection come from each rank's slice of the global batch.

**Ablations**: ``seq2seq=False`` (seq2item only, the paper's "w/o seq2seq"),
``keep_ratio=1`` (no selection), ``num_intents=1`` (no disentanglement).

**Evaluation**: ``interests`` returns :math:`\\phi^{(k)}(x_{1:t})` ``(B, K, D)`` and the shared
scorer ranks items by :math:`\\max_k \\langle \\phi^{(k)}, e_i \\rangle` (the numerator of Eq. 6),
under leave-one-out full ranking.

**Readings** where the text leaves details open: the split point is drawn per training
row (every row once per epoch) rather than by sampling ``(u, t)`` pairs with replacement;
the future window is the rest of the row in the loader's window (no separate cap);
:math:`\\lambda` keeps :math:`\\lceil \\lambda B K \\rceil` samples; defaults ``K = 4``,
:math:`\\lambda = 0.5`, two blocks, dropout 0.3 are picks from the paper's search ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.losses import disentangled_seq2item, latent_seq2seq_loss, max_interest_full_ce
from graphrec.models.base import SequentialRecommender
from graphrec.nn.disentangle import IntentionDisentangle
from graphrec.nn.embedding import SequenceEmbedding, trim_left_padding
from graphrec.nn.transformer import CausalTransformerEncoder

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

#: where the batch step puts each row's next item and reversed future
TARGET_KEY = "target"
FUTURE_KEY = "future"
#: the seq2item losses: Eq. 6 with in-batch next items, or with every item of the catalogue
SEQ2ITEM_LOSSES = ("in_batch", "full")


def split_point_batch(batch: SeqBatch, generator: torch.Generator | None = None) -> SeqBatch:
    """One uniform split point per training row: prefix, next item and reversed future.

    For a row with items :math:`x_1 \\dots x_T` (the inputs and, after the last input, the
    last target) and a split ``t`` drawn uniformly over the real input positions:

    * ``input_ids`` ``(B', L)``: :math:`x_{1:t}`, left-padded;
    * ``extras["target"]`` ``(B',)``: :math:`x_{t+1}`;
    * ``extras["future"]`` ``(B', L)``: :math:`(x_T, x_{T-1}, \\dots, x_{t+1})`, left-padded
      (the newest column holds :math:`x_{t+1}`).

    Rows without a real (input, target) position are dropped; ``user_ids`` follow.

    Args:
        batch: a training batch with ``input_ids`` and ``target_ids`` ``(B, L)``.
        generator: the batch step's seeded generator.
    """
    if batch.target_ids is None:
        raise ValueError("the split-point batch step needs a training batch with target_ids")
    input_ids, target_ids, user_ids = batch.input_ids, batch.target_ids, batch.user_ids
    valid = (input_ids > 0) & (target_ids > 0)  # (B, L)
    keep = valid.any(dim=1)  # (B,)
    if not bool(keep.all()):
        input_ids, target_ids, user_ids = input_ids[keep], target_ids[keep], user_ids[keep]
        valid = valid[keep]
    bsz, length = input_ids.shape
    device = input_ids.device
    first = valid.float().argmax(dim=1)  # (B,) first real position
    span = (length - first).float()  # (B,) real positions
    u = torch.rand(bsz, generator=generator, device=device)
    cut = first + (u * span).long().clamp_max(length - 1 - first)  # (B,) column of x_t
    columns = torch.arange(length, device=device).unsqueeze(0)  # (1, L)
    idx = columns - (length - 1 - cut).unsqueeze(1)  # (B, L) source column of the right-aligned prefix
    prefix = input_ids.gather(1, idx.clamp_min(0)) * (idx >= 0)  # (B, L)
    target = target_ids.gather(1, cut.unsqueeze(1)).squeeze(1)  # (B,) x_{t+1}
    # target_ids[:, c:] = x_{t+1..T}; flipped, its first L - c columns are x_T..x_{t+1}
    flipped = target_ids.flip(1)  # (B, L)
    src = columns - cut.unsqueeze(1)  # (B, L) right-align by shifting c columns
    future = flipped.gather(1, src.clamp_min(0)) * (src >= 0)  # (B, L)
    return SeqBatch(input_ids=prefix, user_ids=user_ids, extras={TARGET_KEY: target, FUTURE_KEY: future})


class DSSRec(SequentialRecommender):
    """SASRec states -> ``K`` disentangled intentions; seq2item + confident latent seq2seq (module docstring).

    Args:
        num_items: ``N``.
        hidden_size: ``D`` (default 64).
        num_layers: transformer blocks (default 2).
        num_heads: attention heads (default 1, the paper's single-head SASRec).
        dropout: embedding/attention/residual dropout (default 0.3).
        max_len: longest input window (default 50; ``from_context`` uses the split's).
        num_intents: ``K`` (default 4).
        keep_ratio: :math:`\\lambda`, the share of seq2seq samples kept (default 0.5; 1 = all).
        seq2seq: add the ``s2s`` term (default True; False is the seq2item-only ablation).
        seq2item: ``"in_batch"`` (default, Eq. 6) or ``"full"`` (every item in the
            denominator, scored by its best intention).
        init_std: std of the normal item/position initialisation (default 0.02).

    Shapes:
        ``interests``: ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "rows", "s2s": "rows"}

    def __init__(
        self,
        num_items: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        num_heads: int = 1,
        dropout: float = 0.3,
        max_len: int = 50,
        num_intents: int = 4,
        keep_ratio: float = 0.5,
        seq2seq: bool = True,
        init_std: float = 0.02,
        seq2item: str = "in_batch",
    ) -> None:
        super().__init__(num_items)
        if not 0.0 < keep_ratio <= 1.0:
            raise ValueError(f"keep_ratio must lie in (0, 1], got {keep_ratio}")
        if seq2item not in SEQ2ITEM_LOSSES:
            raise ValueError(f"unknown seq2item {seq2item!r}; valid: {list(SEQ2ITEM_LOSSES)}")
        self.seq2item = seq2item
        self.hidden_size = int(hidden_size)
        self.num_intents = int(num_intents)
        self.keep_ratio = float(keep_ratio)
        self.seq2seq = bool(seq2seq)
        self.max_len = int(max_len)
        self.embedding = SequenceEmbedding(num_items, hidden_size, max_len, dropout, init_std)
        self.encoder = CausalTransformerEncoder(hidden_size, num_layers, num_heads, dropout)
        self.disentangle = IntentionDisentangle(hidden_size, num_intents, max_len, num_bias_sets=2,
                                                init_std=init_std)

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.encoder.reset_parameters()
        self.disentangle.reset_parameters()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` defaults to the split's window length and may not be shorter."""
        ctx.window_options(options)
        return cls.from_config(ctx.num_items, **options)

    def terms(self) -> tuple[str, ...]:
        """The loss terms this configuration returns."""
        return ("rec", "s2s") if self.seq2seq else ("rec",)

    # ------------------------------------------------------------------ encoding
    def states(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, W)`` left-padded ids -> SASRec states ``z`` ``(B, W, D)`` and the mask ``(B, W)``."""
        valid = input_ids > 0  # (B, W)
        x = self.embedding(input_ids, valid=valid)  # (P, D)
        return self.encoder(x, valid), valid  # (B, W, D)

    def intents(self, input_ids: Tensor, future: bool = False) -> Tensor:
        """``(B, W)`` ids -> ``(B, K, D)`` :math:`\\phi^{(k)}`; ``future``: the reversed-future biases."""
        (input_ids,) = trim_left_padding(input_ids)
        z, valid = self.states(input_ids)  # (B, W', D)
        return self.disentangle(z, valid, bias_set=1 if future else 0)  # (B, K, D)

    def interests(self, batch: SeqBatch) -> Tensor:
        return self.intents(batch.input_ids)  # (B, K, D)

    def item_embeddings(self) -> Tensor:
        return self.embedding.item.weight  # (N + 1, D)

    # ------------------------------------------------------------------ training
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """Prefix, next item, reversed future of a uniform split per row (:func:`split_point_batch`)."""
        return split_point_batch(batch, generator)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if TARGET_KEY not in batch.extras or (self.seq2seq and FUTURE_KEY not in batch.extras):
            raise ValueError("DSSRec.loss_terms needs the batch of training_batch "
                             "(extras 'target' and 'future'); the trainer makes it")
        phi = self.intents(batch.input_ids)  # (B, K, D) phi(x_{1:t})
        target = batch.extras[TARGET_KEY]  # (B,) x_{t+1}
        if self.seq2item == "full":
            terms = {"rec": max_interest_full_ce(phi, self.item_embeddings(), target)}
        else:
            terms = {"rec": disentangled_seq2item(phi, self.item_embeddings()[target])}  # h_{t+1}: (B, D)
        if self.seq2seq:
            psi = self.intents(batch.extras[FUTURE_KEY], future=True)  # (B, K, D) phi(x_{T:t+1})
            terms["s2s"] = latent_seq2seq_loss(phi, psi, self.keep_ratio)
        return terms

    def extra_repr(self) -> str:
        return (f"num_items={self.num_items}, hidden_size={self.hidden_size}, "
                f"num_intents={self.num_intents}, "
                f"keep_ratio={self.keep_ratio}, seq2seq={self.seq2seq}, seq2item={self.seq2item!r}")


__all__ = ["FUTURE_KEY", "SEQ2ITEM_LOSSES", "TARGET_KEY", "DSSRec", "split_point_batch"]
