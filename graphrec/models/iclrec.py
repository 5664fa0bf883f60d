"""ICLRec: intent contrastive learning with k-means intents refitted every epoch.

Chen et al., "Intent Contrastive Learning for Sequential Recommendation", WWW 2022.

ICLRec is CL4SRec (:class:`~graphrec.models.cl4srec.CL4SRec`) plus an *intent*
contrast. At the start of every epoch (``on_epoch_start``) every training sequence
is encoded (eval mode, no gradient, ``state.iter_train_sequences()``) and k-means
(:class:`~graphrec.nn.prototypes.KMeansIntents`) clusters the representations into
``K`` intents :math:`c_1..c_K` (E-step, §4.2). During the epoch each sequence is
assigned its nearest intent :math:`c_u` (from its training-mode, detached
representation, as the released code queries faiss) and both views are pulled
towards it (M-step, Eq. 10 and the released ``PCLoss``):

.. math::
    \\mathcal{L}_{ICL} = \\tfrac{1}{2}\\big(\\mathrm{NTXent}(z^1, c) + \\mathrm{NTXent}(z^2, c)\\big),
    \\qquad
    \\mathcal{L} = \\mathcal{L}_{rec} + \\beta\\, \\mathcal{L}_{cl} + \\lambda\\, \\mathcal{L}_{ICL}

where :math:`\\mathrm{NTXent}(z, c)` is :func:`graphrec.losses.nt_xent` between the
``B`` view representations and their ``B`` assigned intents (the released
``NCELoss``: each of the ``2B`` vectors against the other ``2B - 1``, dot products at
:math:`\\tau = 1`). With ``false_negative_mitigation`` (FNM, the ``--de_noise`` flag)
rows of the same intent are not negatives of each other. Terms: ``"rec"``
(positions), ``"cl"`` (CL4SRec's sequence contrast) and ``"intent"`` (rows).

Representations follow the released code: the sequence contrast flattens all
positions (``cl_representation="concat"``), the intent contrast and k-means average
them (``intent_representation="mean"``, here over the real positions only).

Recommended ``train.loss_weights`` (``src/scripts/run_beauty.sh`` of the released
code: ``cf_weight 0.1``, ``intent_cf_weight 0.1``, ``warm_up_epoches 0``): ``{cl: 0.1,
intent: 0.1}``. The intent warm-up of the paper (intent contrast off for the first
epochs) is a loss-weight schedule: ``intent: {weight: 0.1, start_epoch: 3}`` or
``{weight: 0.1, schedule: warmup, warmup_epochs: 5}`` — the intents are refitted
every epoch regardless, so the term is well defined from epoch 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy.typing as npt
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.losses import nt_xent
from graphrec.models.cl4srec import CL4SRec, CL4SRecConfig
from graphrec.models.config import ModelConfig
from graphrec.models.hooks import TrainState
from graphrec.nn.pooling import pool_sequence
from graphrec.nn.prototypes import KMeansIntents

INTENT_REPRESENTATIONS = ("mean", "last")


@dataclass(frozen=True)
class ICLRecConfig(CL4SRecConfig):
    """ICLRec's options: CL4SRec's (:class:`~graphrec.models.cl4srec.CL4SRecConfig`) and the intents'.

    Attributes:
        cl_representation: sequence-contrast pooling (default ``"concat"``, the released code).
        num_intents: ``K`` (default 256, the paper's Beauty setting).
        intent_representation: ``"mean"`` (default) or ``"last"``: what k-means clusters and
            what the intent contrast compares.
        intent_temperature: :math:`\\tau` of the intent contrast (default 1.0).
        false_negative_mitigation: drop same-intent rows from each other's negatives (FNM).
        kmeans_iters: Lloyd iterations per epoch (default 20).
        kmeans_batch_size: rows per forward pass while collecting representations.
        normalize_intents: contrast with unit-length centroids (the released code normalises
            its faiss centroids; default False keeps them as fitted).
    """

    cl_representation: str = "concat"
    num_intents: int = 256
    intent_representation: str = "mean"
    intent_temperature: float = 1.0
    false_negative_mitigation: bool = False
    kmeans_iters: int = 20
    kmeans_batch_size: int = 1024
    normalize_intents: bool = False

    def validate(self) -> None:
        super().validate()
        if self.intent_representation not in INTENT_REPRESENTATIONS:
            raise ValueError(f"model.intent_representation: unknown intent_representation "
                             f"{self.intent_representation!r}; valid: {list(INTENT_REPRESENTATIONS)}")
        if self.intent_temperature <= 0:
            raise ValueError(f"model.intent_temperature must be > 0, got {self.intent_temperature}")


class ICLRec(CL4SRec):
    """CL4SRec + contrast of each view with its k-means intent (refitted at every epoch start).

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`ICLRecConfig`); its fields may also be given as
            keywords (``ICLRec(n, num_intents=16)``), replacing those of ``config``.

    Attributes:
        intents: :class:`~graphrec.nn.prototypes.KMeansIntents` holding the ``(K, D)``
            centroids buffer ``intents.centroids`` (in the checkpoint).

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"cl": "rows", "intent": "rows"}
    Config: ClassVar[type[ModelConfig]] = ICLRecConfig
    config: ICLRecConfig

    def __init__(self, num_items: int, config: ICLRecConfig | None = None, *,
                 item_pool: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_pool=item_pool)
        self.intents = KMeansIntents(config.num_intents, config.hidden_size, config.kmeans_iters,
                                     normalize_vectors=config.normalize_intents)

    def terms(self) -> tuple[str, ...]:
        """``rec``, ``cl`` and ``intent``."""
        return ("rec", "cl", "intent")

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.intents.reset_parameters()

    def intent_space(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` ids -> ``(B, D)`` the representation k-means clusters (pooled states)."""
        states, valid = self.encode_trimmed(input_ids)  # (B, L', D), (B, L')
        return pool_sequence(states, valid, self.config.intent_representation)  # (B, D)

    def on_epoch_start(self, state: TrainState) -> None:
        """E-step: k-means over the representations of every training sequence."""
        self.intents.refit_from(state.iter_train_sequences(self.config.kmeans_batch_size),
                                lambda b: self.intent_space(b.input_ids), generator=state.generator())

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        config = self.config
        states = self.train_states(batch)
        z1, z2 = states.pooled_views(config.cl_representation)  # (B, D') each
        terms = {"rec": states.rec, "cl": self.contrastive_loss(z1, z2)}
        z = pool_sequence(states.hidden, states.valid, config.intent_representation).detach()  # (B, D)
        intent_ids = self.intents.assign(z)  # (B,) nearest intent
        c = self.intents.vectors()[intent_ids]  # (B, D) c_u
        v1, v2 = states.pooled_views(config.intent_representation)  # (B, D) each
        groups = intent_ids if config.false_negative_mitigation else None
        normalize = config.cl_similarity == "cos"
        terms["intent"] = 0.5 * (nt_xent(v1, c, config.intent_temperature, normalize, groups)
                                 + nt_xent(v2, c, config.intent_temperature, normalize, groups))
        return terms

    def extra_repr(self) -> str:
        config = self.config
        return (f"{super().extra_repr()}, intent_representation={config.intent_representation!r}, "
                f"intent_temperature={config.intent_temperature}, "
                f"false_negative_mitigation={config.false_negative_mitigation}")


__all__ = ["ICLRec", "ICLRecConfig"]
