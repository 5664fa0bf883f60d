"""DSSRec: disentangled latent seq2seq self-supervision for sequential recommendation.

Ma, Zhou, Cui, Yang, Zhu, "Disentangled Self-Supervision in Sequential Recommenders",
KDD 2020. No code of the paper is public; this is a reading of its equations.

**Encoder** (§4.3). SASRec's causal transformer (single-head by default, as the paper)
gives the states :math:`z_1 \\dots z_t` of a sequence; the intention-disentanglement layer
(:class:`~graphrec.nn.disentangle.IntentionDisentangle`) pools them into ``K`` intentions
:math:`\\phi^{(k)}(x_{1:t})`, with one bias set :math:`\\beta` for input sequences and one for
reversed future sequences. The item table embeds the inputs and scores the outputs.

**Training samples** (§4.2): pairs of a prefix :math:`x_{1:t}` of a user's sequence, its
next item :math:`x_{t+1}` and its reversed future :math:`x_{T:t+1} = (x_T, \\dots, x_{t+1})`,
for split points ``t`` of the training rows. ``split_points`` chooses which:

* ``"all"`` (default) -- every split point of every training row, in one pass, as SASRec
  trains every position of a row at once. The encoder is causal, so one pass over the
  row's inputs :math:`x_1 \\dots x_{T-1}` gives the states of every prefix, and the
  disentanglement layer pools every prefix from them
  (:meth:`~graphrec.nn.disentangle.IntentionDisentangle.forward_prefixes`):
  :math:`\\phi^{(k)}(x_{1:t})` at column ``t``. The row's targets
  (``target_ids[:, t] =`` :math:`x_{t+1}`), reversed with their left padding kept
  (:func:`reversed_futures`), go through the same encoder and the pooling with the future
  bias set: the prefix of the reversed row that ends at :math:`x_{t+1}` is the future
  :math:`x_{T:t+1}`, and its state is mapped back to column ``t``
  (:meth:`DSSRec.split_intents`; both passes are one encoder call). A row of ``T`` items
  gives ``T - 1`` samples; a batch gives ``P`` (every column with a real input and target).
  The batch step is the identity.
* ``"one"`` -- the batch step (:meth:`DSSRec.training_batch`) draws, for every training
  row, one split point ``t`` uniformly over its real positions with the seeded generator
  (:func:`split_point_batch`) and returns, row-aligned, the prefix (``input_ids``), the
  next item (``extras["target"]``) and the reversed future (``extras["future"]``,
  left-padded so that :math:`x_{t+1}`, the item nearest the split, is the newest column),
  each encoded as a sequence of its own. ``P = B``.

Either way the future is the rest of the training row inside the loader's window (at most
``L`` items). The two differ in positions only: under ``"all"`` a prefix keeps the
positions it has in the row's window (:math:`x_t` is not moved to the newest position row)
and a future those it has in the reversed row, where ``"one"`` aligns each sequence's
newest item to the last position row. At evaluation ``t`` is the last position, where the
two readings coincide (:meth:`DSSRec.interests` is the last column of the all-prefix pass).
``"all"`` trains on ``T - 1`` samples per row and epoch where ``"one"`` trains on one.

**Losses**, over the ``P`` samples of the batch:

* ``rec`` -- seq2item, Eq. 6 (:func:`~graphrec.losses.disentangled_seq2item`): the best
  intention scores the next item against the next items of all ``P`` samples of the batch
  (with ``"all"``, several per row, the row's own later items among them) under every
  intention of the sample, scale :math:`1/\\sqrt D` (``seq2item="in_batch"``, the paper's).
  ``seq2item="full"`` (:func:`~graphrec.losses.max_interest_full_ce`) puts every item of
  the catalogue in the denominator, each scored by its best intention -- the score the
  evaluation ranks by: SASRec's full cross-entropy applied to Eq. 6, since the next items
  of a batch are a weak, popularity-biased set of negatives for a ranking over all items.
  Its max sits in the denominator too, which removes Eq. 6's competition over intentions;
  ``seq2item="catalogue"`` (:func:`~graphrec.losses.disentangled_seq2item_catalogue`) keeps
  that competition over the whole catalogue: the max over intentions on top, every
  (item, intention) pair below, scale :math:`1/\\sqrt D`;
* ``s2s`` -- latent seq2seq, Eq. 3 (:func:`~graphrec.losses.latent_seq2seq_loss`):
  :math:`\\phi^{(k)}(x_{1:t})` against :math:`\\phi^{(k)}(x_{T:t+1})`, every other (sample,
  intention) of the batch a negative (with ``"all"``: the row's other split points too),
  kept only for the :math:`\\lambda`-fraction (``keep_ratio``) of the ``P K`` samples
  ``(u, t, k)`` with the smallest current loss (no gradient through the selection),
  averaged over the kept samples. Its cost grows as :math:`(P K)^2`. With ``"all"`` a
  sample's neighbouring split points are in its denominator although their futures
  overlap its own almost entirely; ``s2s_negatives="other_rows"`` leaves a row's other
  split points out (the paper's batches hold one split per user, so its negatives are
  other users' sequences).

Both are means over the ``P`` samples (the loss unit ``"samples"``, counted by
:meth:`DSSRec.loss_counts`: the split points of the batch, its rows for ``"one"``), so
that under DDP a rank's terms are scaled by its share of the global batch's samples; the
full-catalogue ``rec`` is then exactly the single-process mean, while the in-batch
denominators and the selection come from each rank's slice of the global batch (and the
selection keeps :math:`\\lceil \\lambda P_r K \\rceil`, proportional to the rank's
samples up to the rounding).

The paper minimises :math:`\\mathcal{L}_{s2i} + \\mathcal{L}_{s2s}`; the weights are
``train.loss_weights`` (``rec``, ``s2s``; 1 by default). The Beauty recipe
(``examples/configs/dssrec_beauty.yaml``) weighs ``s2s`` 0.1 (measurements in
``docs/pages/models/dssrec-measurements.md``).

**Ablations**: ``seq2seq=False`` (seq2item only, the paper's "w/o seq2seq"),
``keep_ratio=1`` (no selection), ``num_intents=1`` (no disentanglement).

**Evaluation**: ``interests`` returns :math:`\\phi^{(k)}(x_{1:t})` ``(B, K, D)`` and the shared
scorer ranks items by :math:`\\max_k \\langle \\phi^{(k)}, e_i \\rangle` (the numerator of Eq. 6),
under leave-one-out full ranking.

**Readings** where the text leaves details open: the ``(u, t)`` pairs are every split
point of every row (``"all"``) or one drawn per training row and epoch (``"one"``) rather
than pairs sampled with replacement; a prefix and a future keep the positions of the
row's window (``"all"``; the paper encodes each as a sequence, which ``"one"`` does); the
future window is the rest of the row in the loader's window (no separate cap);
:math:`\\lambda` keeps :math:`\\lceil \\lambda P K \\rceil` samples; defaults ``K = 4``,
:math:`\\lambda = 0.5`, two blocks, dropout 0.3 are picks from the paper's search ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.losses import (
    disentangled_seq2item,
    disentangled_seq2item_catalogue,
    latent_seq2seq_loss,
    max_interest_full_ce,
)
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.nn.disentangle import IntentionDisentangle
from graphrec.nn.embedding import SequenceEmbedding, trim_left_padding
from graphrec.nn.transformer import CausalTransformerEncoder

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

#: where the batch step puts each row's next item and reversed future
TARGET_KEY = "target"
FUTURE_KEY = "future"
#: the seq2item losses: Eq. 6 with in-batch next items, or with every item of the catalogue
SEQ2ITEM_LOSSES = ("in_batch", "full", "catalogue")
#: the training samples of a row: every split point in one pass, or one drawn split point
SPLIT_POINTS = ("all", "one")
#: the seq2seq negatives: every other sample of the batch, or only those of other rows
S2S_NEGATIVES = ("batch", "other_rows")
#: the loss unit of both terms: (row, split point) samples (:meth:`DSSRec.loss_counts`)
SAMPLES_UNIT = "samples"


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


def reversed_futures(input_ids: Tensor, target_ids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every split point of every row, and the row's reversed targets that hold every future.

    A column ``c`` of a training row is a split point when both its input :math:`x_t` and
    its target :math:`x_{t+1}` are real; the future of that split is
    :math:`(x_T, \\dots, x_{t+1})`, the row's targets from column ``c`` on, reversed. The
    real targets of the split points of a row (``n`` of them, columns ``W - n .. W - 1``)
    are reversed in place, left padding kept:
    ``reversed[:, j] = targets[:, 2 W - 1 - n - j]`` for ``j >= W - n``. Its prefix ending at
    column ``mirror[:, c] = 2 W - 1 - n - c`` is :math:`(x_T, \\dots, x_{t+1})`, the future
    of split ``c`` (the map is its own inverse), so a causal encoder over ``reversed`` gives
    every future's state in one pass.

    Args:
        input_ids: ``(B, W)`` left-padded inputs :math:`x_1 \\dots x_{T-1}`.
        target_ids: ``(B, W)`` their next items (``target_ids[:, c]`` follows ``input_ids[:, c]``).

    Returns:
        ``split`` ``(B, W)`` bool (the split points; a left-padded suffix of every row),
        ``reversed`` ``(B, W)`` ids and ``mirror`` ``(B, W)`` long (the column of the reversed
        row whose prefix is the future of split ``c``; meaningful where ``split``).

    Raises:
        ValueError: when a row's split points are not the suffix of its window (the batch is
            not left-padded with aligned inputs and targets).
    """
    if input_ids.shape != target_ids.shape or input_ids.dim() != 2:
        raise ValueError(f"input_ids and target_ids must both be (B, W), got {tuple(input_ids.shape)} "
                         f"and {tuple(target_ids.shape)}")
    width = input_ids.shape[1]
    split = (input_ids > 0) & (target_ids > 0)  # (B, W)
    count = split.sum(dim=1, keepdim=True)  # (B, 1) n
    columns = torch.arange(width, device=input_ids.device).unsqueeze(0)  # (1, W)
    suffix = columns >= width - count  # (B, W)
    if not torch.equal(split, suffix):
        raise ValueError("every row's (input, target) positions must be the left-padded suffix of its window")
    mirror = (2 * width - 1 - count) - columns  # (B, W) in [W - n, W - 1] where suffix
    reversed_ids = target_ids.gather(1, mirror.clamp(0, width - 1)) * suffix  # (B, W)
    return split, reversed_ids, mirror


@dataclass(frozen=True)
class DSSRecConfig(ModelConfig):
    """DSSRec's options.

    Not a :class:`~graphrec.models.config.SASRecFamilyConfig`: the encoder is always
    SASRec's transformer (feed-forward width ``D``, ReLU) and the losses are DSSRec's own.

    Attributes:
        hidden_size: ``D`` (default 64).
        num_layers: transformer blocks (default 2).
        num_heads: attention heads (default 1, the paper's single-head SASRec).
        dropout: embedding/attention/residual dropout (default 0.3).
        max_len: longest input window (default 50; ``from_context`` uses the split's).
        num_intents: ``K`` (default 4).
        keep_ratio: :math:`\\lambda`, the share of seq2seq samples kept (default 0.5; 1 = all).
        seq2seq: add the ``s2s`` term (default True; False is the seq2item-only ablation).
        init_std: std of the normal item/position initialisation (default 0.02).
        seq2item: ``"in_batch"`` (default, Eq. 6), ``"catalogue"`` (Eq. 6 over every
            (item, intention) pair of the catalogue) or ``"full"`` (every item in the
            denominator, scored by its best intention).
        split_points: ``"all"`` (default: every split point of every training row, one
            causal pass over the row and one over its reversed targets) or ``"one"`` (one
            uniform split point per row, prefix and future encoded as sequences of their own).
        s2s_negatives: ``"batch"`` (default, Eq. 3: every other sample of the batch) or
            ``"other_rows"`` (with ``split_points="all"``, a sample's own row's other split
            points are left out of its denominator; the same as ``"batch"`` under ``"one"``).
    """

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 1
    dropout: float = 0.3
    max_len: int = 50
    num_intents: int = 4
    keep_ratio: float = 0.5
    seq2seq: bool = True
    init_std: float = 0.02
    seq2item: str = "in_batch"
    split_points: str = "all"
    s2s_negatives: str = "batch"

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ValueError(f"model.keep_ratio must lie in (0, 1], got {self.keep_ratio}")
        if self.seq2item not in SEQ2ITEM_LOSSES:
            raise ValueError(f"model.seq2item: unknown seq2item {self.seq2item!r}; "
                             f"valid: {list(SEQ2ITEM_LOSSES)}")
        if self.split_points not in SPLIT_POINTS:
            raise ValueError(f"model.split_points: unknown split_points {self.split_points!r}; "
                             f"valid: {list(SPLIT_POINTS)}")
        if self.s2s_negatives not in S2S_NEGATIVES:
            raise ValueError(f"model.s2s_negatives: unknown s2s_negatives {self.s2s_negatives!r}; "
                             f"valid: {list(S2S_NEGATIVES)}")


class DSSRec(SequentialRecommender):
    """SASRec states -> ``K`` disentangled intentions; seq2item + confident latent seq2seq (module docstring).

    Args:
        num_items: ``N``.
        config: the options (:class:`DSSRecConfig`); its fields may also be given as
            keywords (``DSSRec(n, num_intents=2)``), replacing those of ``config``.

    Shapes:
        ``interests``: ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``; ``split_intents``:
        ``(P, K, D)``, ``(P, K, D)``, ``(P,)``, ``(P,)`` for the ``P`` split points of a batch.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": SAMPLES_UNIT, "s2s": SAMPLES_UNIT}
    Config: ClassVar[type[ModelConfig]] = DSSRecConfig
    config: DSSRecConfig

    def __init__(self, num_items: int, config: DSSRecConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items)
        self.config = config
        self.embedding = SequenceEmbedding(num_items, config.hidden_size, config.max_len, config.dropout,
                                           config.init_std)
        self.encoder = CausalTransformerEncoder(config.hidden_size, config.num_layers, config.num_heads,
                                                config.dropout)
        self.disentangle = IntentionDisentangle(config.hidden_size, config.num_intents, config.max_len,
                                                num_bias_sets=2, init_std=config.init_std)

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.encoder.reset_parameters()
        self.disentangle.reset_parameters()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` defaults to the split's window length and may not be shorter."""
        ctx.window_options(options)
        return cls(ctx.num_items, **options)

    def terms(self) -> tuple[str, ...]:
        """The loss terms this configuration returns."""
        return ("rec", "s2s") if self.config.seq2seq else ("rec",)

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

    def split_intents(self, input_ids: Tensor, target_ids: Tensor,
                      future: bool = True) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
        """Every split point of a training batch: :math:`\\phi`, :math:`\\psi` and the next items.

        One causal pass over the inputs gives :math:`\\phi^{(k)}(x_{1:t})` at every column
        (:meth:`~graphrec.nn.disentangle.IntentionDisentangle.forward_prefixes`, bias set 0);
        one pass over the reversed targets (:func:`reversed_futures`, bias set 1) gives
        :math:`\\psi^{(k)} = \\phi^{(k)}(x_{T:t+1})` at the mirrored column. Both passes run as
        one encoder call over ``2B`` rows.

        Args:
            input_ids, target_ids: ``(B, L)`` the training rows (left-padded, aligned).
            future: also encode the reversed futures (False: ``psi`` is ``None``).

        Returns:
            ``phi`` ``(P, K, D)``, ``psi`` ``(P, K, D)`` or ``None``, ``targets`` ``(P,)``
            :math:`x_{t+1}` and ``rows`` ``(P,)`` (the row of each split point), for the ``P``
            split points in row-major order.
        """
        input_ids, target_ids = trim_left_padding(input_ids, target_ids)  # (B, W)
        split, reversed_ids, mirror = reversed_futures(input_ids, target_ids)  # (B, W) each
        rows = input_ids.shape[0]
        ids = torch.cat([input_ids, reversed_ids]) if future else input_ids  # (2B or B, W)
        z, valid = self.states(ids)  # (2B or B, W, D)
        row, col = split.nonzero(as_tuple=True)  # (P,) each, row-major
        phi = self.disentangle.forward_prefixes(z[:rows], valid[:rows])[row, col]  # (P, K, D)
        psi = None
        if future:
            psi_all = self.disentangle.forward_prefixes(z[rows:], valid[rows:], bias_set=1)  # (B, W, K, D)
            psi = psi_all[row, mirror[row, col]]  # (P, K, D)
        return phi, psi, target_ids[row, col], row

    def interests(self, batch: SeqBatch) -> Tensor:
        return self.intents(batch.input_ids)  # (B, K, D)

    def item_embeddings(self) -> Tensor:
        return self.embedding.item.weight  # (N + 1, D)

    # ------------------------------------------------------------------ training
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """``"all"``: the loader's batch as it is; ``"one"``: prefix, next item and reversed
        future of a uniform split per row (:func:`split_point_batch`)."""
        if self.config.split_points == "one":
            return split_point_batch(batch, generator)
        return batch

    def loss_counts(self, batch: SeqBatch) -> dict[str, float]:
        """Adds ``samples``: the split points of the batch (``"all"``; rows for ``"one"``)."""
        counts = super().loss_counts(batch)
        if batch.target_ids is None:  # the batch of split_point_batch: one sample per row
            counts[SAMPLES_UNIT] = counts["rows"]
        else:
            counts[SAMPLES_UNIT] = float(((batch.input_ids > 0) & (batch.target_ids > 0)).sum())
        return counts

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if self.config.split_points == "all":
            if batch.target_ids is None:
                raise ValueError("DSSRec.loss_terms (split_points='all') needs a training batch "
                                 "with target_ids")
            phi, psi, target, rows = self.split_intents(batch.input_ids, batch.target_ids,
                                                        future=self.config.seq2seq)
            if target.numel() == 0:  # no split point: zero terms that keep the graph
                zero = self.item_embeddings().sum() * 0.0
                return {name: zero for name in self.terms()}
        else:
            if TARGET_KEY not in batch.extras or (self.config.seq2seq and FUTURE_KEY not in batch.extras):
                raise ValueError("DSSRec.loss_terms (split_points='one') needs the batch of training_batch "
                                 "(extras 'target' and 'future'); the trainer makes it")
            phi = self.intents(batch.input_ids)  # (B, K, D) phi(x_{1:t})
            target = batch.extras[TARGET_KEY]  # (B,) x_{t+1}
            psi = (self.intents(batch.extras[FUTURE_KEY], future=True)  # (B, K, D)
                   if self.config.seq2seq else None)
            rows = torch.arange(phi.shape[0], device=phi.device)  # (B,) one sample per row
        if self.config.seq2item == "full":
            terms = {"rec": max_interest_full_ce(phi, self.item_embeddings(), target)}
        elif self.config.seq2item == "catalogue":
            terms = {"rec": disentangled_seq2item_catalogue(phi, self.item_embeddings(), target)}
        else:
            terms = {"rec": disentangled_seq2item(phi, self.item_embeddings()[target])}  # h_{t+1}: (P, D)
        if psi is not None:
            groups = rows if self.config.s2s_negatives == "other_rows" else None
            terms["s2s"] = latent_seq2seq_loss(phi, psi, self.config.keep_ratio, groups=groups)  # phi vs psi
        return terms

    def extra_repr(self) -> str:
        config = self.config
        return (f"num_items={self.num_items}, hidden_size={config.hidden_size}, "
                f"num_intents={config.num_intents}, "
                f"keep_ratio={config.keep_ratio}, seq2seq={config.seq2seq}, seq2item={config.seq2item!r}, "
                f"split_points={config.split_points!r}, s2s_negatives={config.s2s_negatives!r}")


__all__ = ["FUTURE_KEY", "S2S_NEGATIVES", "SAMPLES_UNIT", "SEQ2ITEM_LOSSES", "SPLIT_POINTS", "TARGET_KEY",
           "DSSRec", "DSSRecConfig", "reversed_futures", "split_point_batch"]
