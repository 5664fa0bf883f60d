"""CL4SRec: SASRec trained with an extra contrastive loss between two augmented views.

Xie et al., "Contrastive Learning for Sequential Recommendation", ICDE 2022.

Every training sequence :math:`s_u` gets two views :math:`\\tilde s^1_u = g^1(s_u)`,
:math:`\\tilde s^2_u = g^2(s_u)`, each made by one operation drawn per row and per view
from crop / mask / reorder (:mod:`graphrec.data.augment`, ratios in
:class:`~graphrec.data.augment.AugmentConfig`; masked items become the mask token
``N + 1``, a row of the input table that is never scored). The views go through
the same encoder as the next-item task and their representations
:math:`z^1_u, z^2_u` are contrasted with NT-Xent over the ``2B`` views of the batch
(:func:`graphrec.losses.nt_xent`, CL4SRec Eq. 8):

.. math::
    \\mathcal{L} = \\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{cl}, \\qquad
    \\mathcal{L}_{cl} = \\frac{1}{2B} \\sum_u \\big(\\ell(z^1_u) + \\ell(z^2_u)\\big)

with :math:`\\mathcal{L}_{rec}` SASRec's next-item loss (:func:`graphrec.losses.next_item_loss`)
over every position of the original sequence, returned as the term ``"rec"``, and
:math:`\\mathcal{L}_{cl}` as ``"cl"`` (a mean over rows); :math:`\\lambda` is
``train.loss_weights.cl`` (0.1 in the RecBole/DuoRec CL4SRec code, which also uses
dot-product similarity at :math:`\\tau = 1` and the state at the last position).

Deviation: the reference code draws two *different* operations for the two views of a
row; here each view draws its operation independently (:func:`~graphrec.data.augment.two_views`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from graphrec.data.augment import AugmentConfig, two_views
from graphrec.data.batch import SeqBatch
from graphrec.losses import next_item_loss, nt_xent
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.models.sasrec import SASRec, SASRecConfig
from graphrec.nn.embedding import SequenceEmbedding, leading_padding, trim_left_padding
from graphrec.nn.pooling import POOLINGS, pool_sequence

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

SIMILARITIES = ("dot", "cos")


@dataclass(frozen=True)
class CL4SRecConfig(SASRecConfig):
    """CL4SRec's options: SASRec's (:class:`~graphrec.models.sasrec.SASRecConfig`; the item
    table gets one more row, the mask token ``N + 1``) and the views' contrast.

    Attributes:
        augment: :class:`~graphrec.data.augment.AugmentConfig` or its options as a mapping
            (``{operations: [crop, mask, reorder], crop_ratio: 0.2, ...}``; default
            ``AugmentConfig()``); a mapping (or ``None``) is turned into an ``AugmentConfig``.
            ``insert``/``substitute`` are not available here.
        cl_temperature: :math:`\\tau` of the contrastive loss (default 1.0).
        cl_similarity: ``"dot"`` (default, the reference code) or ``"cos"``.
        cl_representation: how a view becomes one vector, ``"last"`` (default), ``"mean"``
            or ``"concat"`` (:func:`graphrec.nn.pooling.pool_sequence`).
    """

    augment: AugmentConfig = field(default_factory=AugmentConfig)
    cl_temperature: float = 1.0
    cl_similarity: str = "dot"
    cl_representation: str = "last"

    def __post_init__(self) -> None:
        augment: Any = self.augment
        if augment is None:
            augment = AugmentConfig()
        elif isinstance(augment, Mapping):
            augment = AugmentConfig.from_options(augment)
        elif not isinstance(augment, AugmentConfig):
            raise ValueError(f"model.augment must be a mapping of augmentation options, got {augment!r}")
        object.__setattr__(self, "augment", augment)
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        if self.recipe != "dense":
            raise ValueError("model.recipe: the contrastive models train on every position ('dense')")
        if self.augment.needs_similar_items:
            raise ValueError("model.augment: the views are drawn from crop/mask/reorder/item_shuffle; "
                             "insert/substitute need a similar-items table this model does not build")
        if self.cl_temperature <= 0:
            raise ValueError(f"model.cl_temperature must be > 0, got {self.cl_temperature}")
        if self.cl_similarity not in SIMILARITIES:
            raise ValueError(f"model.cl_similarity: unknown cl_similarity {self.cl_similarity!r}; "
                             f"valid: {list(SIMILARITIES)}")
        if self.cl_representation not in POOLINGS:
            raise ValueError(f"model.cl_representation: unknown cl_representation "
                             f"{self.cl_representation!r}; valid: {list(POOLINGS)}")


@dataclass
class ForwardStates:
    """What one forward pass over a training batch and its two views yields.

    Attributes:
        rec: scalar next-item loss over the original sequence.
        hidden: ``(B, L', D)`` states of the original sequence (leading all-padding columns dropped).
        valid: ``(B, L')`` its real positions.
        views: ``(2B, L'', D)`` states of view 1 (rows ``0..B-1``) and view 2 (rows ``B..2B-1``),
            or ``None`` when the batch has no views.
        views_valid: ``(2B, L'')`` their real positions, or ``None``.
    """

    rec: Tensor
    hidden: Tensor
    valid: Tensor
    views: Tensor | None = None
    views_valid: Tensor | None = None

    def pooled_views(self, how: str) -> tuple[Tensor, Tensor]:
        """``(z^1, z^2)``, each ``(B, D')``, pooled by :func:`~graphrec.nn.pooling.pool_sequence`."""
        if self.views is None or self.views_valid is None:
            raise ValueError("this batch has no augmented views; run the model's training_batch first")
        z = pool_sequence(self.views, self.views_valid, how)  # (2B, D')
        z1, z2 = z.chunk(2)  # (B, D') each
        return z1, z2


class CL4SRec(SASRec):
    """SASRec + NT-Xent between two augmented views of every training sequence.

    Args:
        num_items: number of real items ``N`` (the mask token is ``N + 1``).
        config: the options (:class:`CL4SRecConfig`); its fields may also be given as
            keywords (``CL4SRec(n, cl_temperature=0.5)``), replacing those of ``config``.

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
        ``training_batch`` adds ``extras["view1"]``, ``extras["view2"]``: ``(B, L)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"cl": "rows"}
    supports_packing = False
    Config: ClassVar[type[ModelConfig]] = CL4SRecConfig
    config: CL4SRecConfig

    def __init__(self, num_items: int, config: CL4SRecConfig | None = None, *,
                 item_pool: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config)
        # the SASRec table plus the mask token N + 1 (an input only: scoring uses rows 0..N)
        self.embedding = SequenceEmbedding(num_items, config.hidden_size, config.max_len, config.dropout,
                                           config.init_std, mask_token=True)
        self.supports_packing = False  # views live in extras, which packed rows cannot carry
        pool = None if item_pool is None else torch.as_tensor(np.asarray(item_pool), dtype=torch.long)
        self.operations = config.augment.build(mask_id=self.embedding.mask_id, item_pool=pool)

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` as SASRec; the training interactions' items as the pool of ``random_insert``."""
        ctx.window_options(options)
        options.setdefault("item_pool", ctx.training_sequences().items)
        return cls(ctx.num_items, **options)

    def terms(self) -> tuple[str, ...]:
        """``rec`` and ``cl``."""
        return ("rec", "cl")

    @property
    def mask_id(self) -> int:
        """The mask token ``N + 1``."""
        assert self.embedding.mask_id is not None
        return self.embedding.mask_id

    def item_embeddings(self) -> Tensor:
        return self.embedding.item_table  # (N + 1, D), the mask row left out

    # ------------------------------------------------------------------ batch step
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """Two augmented views of every row: ``extras["view1"]``, ``extras["view2"]`` ``(B, L)``."""
        view1, view2 = two_views(batch.input_ids, self.operations, generator)  # (B, L) each
        batch.extras["view1"], batch.extras["view2"] = view1, view2
        return batch

    # ------------------------------------------------------------------ encoding
    def encode_trimmed(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, L)`` left-padded ids -> ``(states (B, L', D), valid (B, L'))``, all-padding columns cut."""
        (ids,) = trim_left_padding(input_ids)
        return self.encode(ids), ids > 0

    def train_states(self, batch: SeqBatch, with_views: bool = True) -> ForwardStates:
        """Encode the batch (next-item loss on every position) and, if asked, both views at once."""
        if batch.target_ids is None:
            raise ValueError(f"{type(self).__name__}.loss_terms needs a training batch with target_ids")
        start = leading_padding(batch.input_ids)
        ids = batch.input_ids[:, start:]  # (B, L')
        hidden = self.encode(ids)  # (B, L', D)
        rec = next_item_loss(hidden, batch.target_ids[:, start:], self.item_embeddings(), self.config.loss,
                             self.config.num_negatives)
        states = ForwardStates(rec=rec, hidden=hidden, valid=ids > 0)
        if with_views:
            if "view1" not in batch.extras or "view2" not in batch.extras:
                raise ValueError(f"{type(self).__name__} needs the views of its training_batch "
                                 "(extras 'view1' and 'view2')")
            both = torch.cat([batch.extras["view1"], batch.extras["view2"]])  # (2B, L)
            states.views, states.views_valid = self.encode_trimmed(both)  # (2B, L'', D), (2B, L'')
        return states

    def contrastive_loss(self, z1: Tensor, z2: Tensor) -> Tensor:
        """NT-Xent of the two views' representations (CL4SRec Eq. 8)."""
        return nt_xent(z1, z2, self.config.cl_temperature, normalize=self.config.cl_similarity == "cos")

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        states = self.train_states(batch)
        z1, z2 = states.pooled_views(self.config.cl_representation)  # (B, D') each
        return {"rec": states.rec, "cl": self.contrastive_loss(z1, z2)}

    def extra_repr(self) -> str:
        config = self.config
        return (f"{super().extra_repr()}, augment={config.augment}, cl_temperature={config.cl_temperature}, "
                f"cl_similarity={config.cl_similarity!r}, cl_representation={config.cl_representation!r}")


__all__ = ["CL4SRec", "CL4SRecConfig", "ForwardStates"]
