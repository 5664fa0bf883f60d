"""S4Rec: online self-supervised self-distillation for sequential recommendation.

Wei et al., "Leave No One Behind: Online Self-Supervised Self-Distillation for
Sequential Recommendation", WWW 2024. No code of the paper is public; this is a
reading of its equations (several are garbled in the published text), checked
against the methods it builds on: SwAV (Caron et al., NeurIPS 2020) for the online
clustering, ICLRec (Chen et al., WWW 2022) for intents, DANN (Ganin & Lempitsky,
ICML 2015) for the gradient reversal.

**Encoder and views.** SASRec's causal transformer :math:`f_\\theta` (Eq. 2) encodes the
training sequence and two augmented views (Eq. 8; crop / mask / reorder of
:mod:`graphrec.data.augment`, one operation per row and view, made in the batch
step). The sequence representation is the state at the newest position. **Reading:**
every S4Rec head below works on the unit sphere: :math:`z_u, z^1_u, z^2_u` in Eq. 3–13
denote the L2-normalised last states and :math:`\\mu` the normalised prototypes (SwAV
normalises both; it gives Eq. 3, 10 and 11 one scale). The next-item loss uses the raw
states.

**Next item** (Eq. 1, term ``rec``): SASRec's loss over every position
(:func:`graphrec.losses.next_item_loss`, full softmax by default).

**Online clustering** (§4.1, Eq. 3–7, term ``clust``). ``K`` learnable prototypes
(:class:`~graphrec.nn.prototypes.Prototypes`). Soft assignment at temperature
:math:`\\tau_1` (Eq. 3, :func:`~graphrec.losses.soft_assignment`); targets :math:`q` from
Sinkhorn-Knopp equipartition of the *batch* (Eq. 5–7, :func:`~graphrec.losses.sinkhorn_knopp`,
:math:`\\epsilon` and a few iterations, no gradient). **Reading of Eq. 4:** SwAV's
swapped prediction between the two views (``cluster_views="swapped"``, default),

.. math::
    \\mathcal{L}_{Clust} = \\tfrac{1}{2}\\Big(-\\tfrac{1}{B}\\sum_u \\sum_k q^{2,k}_u \\log p^{1,k}_u
    - \\tfrac{1}{B}\\sum_u \\sum_k q^{1,k}_u \\log p^{2,k}_u\\Big)

(:func:`~graphrec.losses.swapped_prediction`); ``cluster_views="original"`` is the literal
single-view Eq. 4 on the original sequence, :math:`-\\frac1B\\sum_u \\sum_k q^k_u \\log p^k_u`.
The assigned intent is :math:`h(u) = \\arg\\max_k p^k_u` of the original sequence
(its nearest prototype).

**Cluster-aware self-distillation** (CSD, §4.2), two terms:

* sequence contrast with prototype negatives (Eq. 9–10, term ``scl``), both directions summed
  as Eq. 9 writes it, each a mean over rows
  (:func:`~graphrec.losses.prototype_info_nce`):

  .. math::
      \\mathcal{L}_{SCL} = \\ell(z^1, z^2) + \\ell(z^2, z^1), \\quad
      \\ell(z^1_u, z^2_u) = -\\log \\frac{e^{z^1_u z^{2\\top}_u/\\tau_2}}
      {\\sum_n e^{z^1_u z^{2\\top}_n/\\tau_2} + \\sum_{k' \\ne h(u)} e^{z^1_u \\mu^\\top_{k'}/\\tau_2}}

  **Reading:** the in-batch sum runs over the other view of *every* row, the positive
  included (the classical InfoNCE the paper cites; the printed :math:`n \\ne u` would drop it);
* cluster-level distillation (Eq. 11–12, term ``ckd``): the teacher is the assigned
  intent :math:`\\mu_{h(u)}`, the students the two views; **reading:** the distributions
  of Eq. 11 are temperature softmaxes over the ``D`` embedding coordinates ``i`` of
  the (normalised) vectors, and the teacher is a target (no gradient):

  .. math::
      \\mathcal{L}_{CKD} = \\mathrm{KL}(e_{u,t} \\Vert e^1_{u,s}) + \\mathrm{KL}(e_{u,t} \\Vert e^2_{u,s}),
      \\quad e_{u,t} = \\mathrm{softmax}(\\mu_{h(u)}/\\tau_3), \\ e^v_{u,s} = \\mathrm{softmax}(z^v_u/\\tau_3)

  (:func:`~graphrec.losses.self_distillation_kl`, Hinton's :math:`\\tau^2` factor not applied).

**Head-tail adversarial learning** (§4.3, Eq. 13, term ``adv``). A linear classifier
behind a gradient-reversal layer (:class:`~graphrec.nn.adversarial.DomainClassifier`)
predicts from :math:`z_u` whether the user's training sequence is a *head* sequence
(the longest 20 %, :func:`~graphrec.data.lengths.head_flags`, computed from the
split's training part at build time and kept per user in the buffer ``head``,
looked up by ``batch.user_ids``). Cross-entropy; the classifier descends on it and
the encoder ascends, scaled by the reversal strength ``grl_lambda`` (the paper's
:math:`\\gamma`), so the encoder minimises :math:`\\mathcal{L}_{SR} - \\lambda\\gamma\\mathcal{L}_{Adv}`.

**Joint loss** (Eq. 14):

.. math::
    \\mathcal{L} = \\mathcal{L}_{SR} + \\alpha \\mathcal{L}_{Clust} + \\beta_1 \\mathcal{L}_{SCL}
    + \\beta_2 \\mathcal{L}_{CKD} + \\lambda \\mathcal{L}_{Adv}

with the weights from ``train.loss_weights`` (``rec``, ``clust``, ``scl``, ``ckd``, ``adv``).
The paper's best Beauty setting (§5.5): :math:`\\alpha = 0.01`, :math:`\\beta_1 = 0.1`,
:math:`\\beta_2 = 0.1`, :math:`\\lambda = 1.0`, ``K = 128``, Adam lr 1e-3, batch 512,
dropout 0.5; temperatures from {0.1, 1.0} (0.1 here), :math:`\\epsilon` and the Sinkhorn
iterations are not given (SwAV's 0.05 and 3 here).

**Ablations** (Table 3), ``variant``:

=============  ========================================  ===================================
``variant``    Table 3 row                                terms
=============  ========================================  ===================================
``full``       S4Rec                                      rec, clust, scl, ckd, adv
``sr``         SR only (SASRec)                           rec
``sr_csd``     SR + CSD (k-means intents)                 rec, scl, ckd
``kmeans``     SR + CSD + GR (k-means intents)            rec, scl, ckd, adv
``no_csd``     S4Rec w/o CSD                              rec, clust, adv
``no_gr``      S4Rec w/o GR                               rec, clust, scl, ckd
=============  ========================================  ===================================

The k-means variants replace the learned prototypes by ``K`` centroids refitted at
every epoch start over all training sequences (ICLRec's E-step, the same
:class:`~graphrec.nn.prototypes.KMeansIntents` path, here on the unit sphere) and
have no ``clust`` term. **Reading:** Table 3's SR + CSD row is k-means too (the
evidence from the paper's numbers is in ``docs/pages/models/s4rec-measurements.md``).

Under DDP the Sinkhorn targets and the in-batch negatives come from each rank's
slice of the global batch (SwAV all-reduces the Sinkhorn sums; not done here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.lengths import head_flags, training_lengths
from graphrec.losses import prototype_info_nce, self_distillation_kl, swapped_prediction
from graphrec.models.base import SequentialRecommender
from graphrec.models.cl4srec import CL4SRec, CL4SRecConfig, ForwardStates
from graphrec.models.config import ModelConfig
from graphrec.models.hooks import TrainState
from graphrec.nn.adversarial import DomainClassifier
from graphrec.nn.prototypes import KMeansIntents, Prototypes

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

#: variant -> (clustering: "online" | "kmeans" | None, CSD on, adversarial on)
VARIANTS: dict[str, tuple[str | None, bool, bool]] = {
    "full": ("online", True, True),
    "sr": (None, False, False),
    "sr_csd": ("kmeans", True, False),
    "kmeans": ("kmeans", True, True),
    "no_csd": ("online", False, True),
    "no_gr": ("online", True, False),
}
CLUSTER_VIEWS = ("swapped", "original")


@dataclass(frozen=True)
class S4RecConfig(CL4SRecConfig):
    """S4Rec's options: CL4SRec's (:class:`~graphrec.models.cl4srec.CL4SRecConfig`, the views
    of Eq. 8) and those of the clustering, distillation and adversarial heads.

    Attributes:
        cl_temperature: :math:`\\tau_2` of Eq. 9–10 (default 0.1).
        cl_similarity, cl_representation: fixed for S4Rec at ``"cos"`` and ``"last"`` (every
            head works on the L2-normalised last states); other values are refused.
        variant: ``full`` (default), ``sr``, ``sr_csd``, ``kmeans``, ``no_csd``, ``no_gr``
            (Table 3; see the module docstring).
        num_prototypes: ``K`` (default 128; the paper sweeps 32–512).
        cluster_temperature: :math:`\\tau_1` of Eq. 3 (default 0.1).
        sinkhorn_epsilon: :math:`\\epsilon` of Eq. 5/7 (default 0.05).
        sinkhorn_iters: Sinkhorn-Knopp iterations (default 3).
        cluster_views: ``"swapped"`` (default, SwAV) or ``"original"`` (Eq. 4 on the sequence).
        distill_temperature: :math:`\\tau_3` of Eq. 11 (default 0.1).
        grl_lambda: gradient-reversal strength :math:`\\gamma` (default 1.0).
        head_ratio: share of the longest training sequences labelled head (default 0.2).
        kmeans_iters: Lloyd iterations of the k-means variants (default 20).
        kmeans_batch_size: rows per forward pass while collecting representations.
    """

    cl_temperature: float = 0.1
    cl_similarity: str = "cos"
    cl_representation: str = "last"
    variant: str = "full"
    num_prototypes: int = 128
    cluster_temperature: float = 0.1
    sinkhorn_epsilon: float = 0.05
    sinkhorn_iters: int = 3
    cluster_views: str = "swapped"
    distill_temperature: float = 0.1
    grl_lambda: float = 1.0
    head_ratio: float = 0.2
    kmeans_iters: int = 20
    kmeans_batch_size: int = 1024

    def validate(self) -> None:
        super().validate()
        if self.variant not in VARIANTS:
            raise ValueError(f"model.variant: unknown S4Rec variant {self.variant!r}; "
                             f"valid: {sorted(VARIANTS)}")
        if self.cluster_views not in CLUSTER_VIEWS:
            raise ValueError(f"model.cluster_views: unknown cluster_views {self.cluster_views!r}; "
                             f"valid: {list(CLUSTER_VIEWS)}")
        positive = {"cluster_temperature": self.cluster_temperature,
                    "sinkhorn_epsilon": self.sinkhorn_epsilon,
                    "distill_temperature": self.distill_temperature}
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"model.{name} must be > 0, got {value}")
        if self.cl_similarity != "cos" or self.cl_representation != "last":
            raise ValueError("model.cl_similarity / model.cl_representation: S4Rec's heads compare "
                             "L2-normalised last states (cos, last); got "
                             f"{self.cl_similarity!r}, {self.cl_representation!r}")


class S4Rec(CL4SRec):
    """SASRec + online Sinkhorn clustering, cluster-aware self-distillation and head/tail adversary.

    Args:
        num_items: number of real items ``N``.
        config: the options (:class:`S4RecConfig`); its fields may also be given as
            keywords (``S4Rec(n, variant="sr")``), replacing those of ``config``.
        train_lengths: ``(U,)`` training-sequence length of every user, for the head
            labels (:func:`training_lengths`; ``from_context`` supplies it). Needed by
            the variants with ``adv``.

    Attributes:
        prototypes: :class:`~graphrec.nn.prototypes.Prototypes` (online variants) or
            :class:`~graphrec.nn.prototypes.KMeansIntents` (k-means variants), else ``None``.
        classifier: :class:`~graphrec.nn.adversarial.DomainClassifier` or ``None``.
        head: ``(U,)`` bool buffer, True for users with a head training sequence.

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"clust": "rows", "scl": "rows", "ckd": "rows", "adv": "rows"}
    Config: ClassVar[type[ModelConfig]] = S4RecConfig
    config: S4RecConfig
    head: Tensor

    def __init__(self, num_items: int, config: S4RecConfig | None = None, *,
                 train_lengths: npt.ArrayLike | None = None, item_pool: npt.ArrayLike | None = None,
                 **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_pool=item_pool)
        self.clustering, self.use_csd, self.use_adversarial = VARIANTS[config.variant]
        self.prototypes: Prototypes | KMeansIntents | None = None
        if self.clustering == "online":
            self.prototypes = Prototypes(config.num_prototypes, config.hidden_size)
        elif self.clustering == "kmeans":
            self.prototypes = KMeansIntents(config.num_prototypes, config.hidden_size, config.kmeans_iters,
                                            normalize=True)
        self.classifier = (DomainClassifier(config.hidden_size, 2, config.grl_lambda) if self.use_adversarial
                           else None)
        flags = (torch.zeros(0, dtype=torch.bool) if train_lengths is None
                 else head_flags(train_lengths, config.head_ratio))
        self.register_buffer("head", flags)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.prototypes is not None:
            self.prototypes.reset_parameters()
        if self.classifier is not None:
            self.classifier.reset_parameters()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """``max_len`` as SASRec; ``train_lengths`` (head labels) from the training part unless given."""
        ctx.window_options(options)
        lengths = options.pop("train_lengths", None)
        options.setdefault("item_pool", ctx.training_sequences().items)
        return cls(ctx.num_items, train_lengths=training_lengths(ctx.split) if lengths is None else lengths,
                   **options)

    @property
    def uses_views(self) -> bool:
        """Whether a term needs the two augmented views."""
        return self.use_csd or (self.clustering == "online" and self.config.cluster_views == "swapped")

    def terms(self) -> tuple[str, ...]:
        """The loss terms this variant returns."""
        names = ["rec"]
        if self.clustering == "online":
            names.append("clust")
        if self.use_csd:
            names += ["scl", "ckd"]
        if self.use_adversarial:
            names.append("adv")
        return tuple(names)

    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        return super().training_batch(batch, generator) if self.uses_views else batch

    def intent_space(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` ids -> ``(B, D)`` :math:`z_u` on the unit sphere (what k-means clusters)."""
        states, _ = self.encode_trimmed(input_ids)  # (B, L', D)
        return F.normalize(states[:, -1], dim=-1)  # (B, D)

    def on_epoch_start(self, state: TrainState) -> None:
        """k-means variants: refit the intents over every training sequence (ICLRec's E-step)."""
        if isinstance(self.prototypes, KMeansIntents):
            self.prototypes.refit_from(state.iter_train_sequences(self.config.kmeans_batch_size),
                                       lambda b: self.intent_space(b.input_ids), generator=state.generator())

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        states = self.train_states(batch, with_views=self.uses_views)
        terms = {"rec": states.rec}
        z = F.normalize(states.hidden[:, -1], dim=-1)  # (B, D) z_u
        if self.prototypes is not None:
            terms.update(self._intent_terms(z, states))
        if self.classifier is not None:  # Eq. 13, behind the gradient reversal
            if self.head.numel() == 0:
                raise ValueError("S4Rec's adversarial term needs train_lengths (build the model with "
                                 "from_context, or pass the users' training-sequence lengths)")
            labels = self.head[batch.user_ids].long()  # (B,) 1 = head, 0 = tail
            terms["adv"] = F.cross_entropy(self.classifier(z), labels)
        return terms

    def _intent_terms(self, z: Tensor, states: ForwardStates) -> dict[str, Tensor]:
        """``clust`` (online variants) and ``scl``/``ckd`` (CSD variants) for normalised ``z (B, D)``."""
        assert self.prototypes is not None
        terms: dict[str, Tensor] = {}
        mu = self.prototypes()  # (K, D) unit rows
        assigned = (z.detach() @ mu.detach().T).argmax(dim=1)  # (B,) h(u), the nearest intent
        z1 = z2 = z
        if self.uses_views:
            z1, z2 = (F.normalize(v, dim=-1) for v in states.pooled_views("last"))  # (B, D) each
        config = self.config
        if self.clustering == "online":  # Eq. 3-7
            a, b = (z1, z2) if config.cluster_views == "swapped" else (z, z)
            terms["clust"] = swapped_prediction(a, b, mu, config.cluster_temperature, config.sinkhorn_epsilon,
                                                config.sinkhorn_iters)
        if self.use_csd:  # Eq. 9-12
            tau2, tau3 = config.cl_temperature, config.distill_temperature
            terms["scl"] = (prototype_info_nce(z1, z2, mu, assigned, tau2)
                            + prototype_info_nce(z2, z1, mu, assigned, tau2))
            teacher = mu[assigned]  # (B, D) mu_{h(u)}
            terms["ckd"] = self_distillation_kl(teacher, z1, tau3) + self_distillation_kl(teacher, z2, tau3)
        return terms

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, variant={self.config.variant!r}, terms={list(self.terms())}, "
                f"cluster_views={self.config.cluster_views!r}")


__all__ = ["S4Rec", "S4RecConfig", "VARIANTS", "training_lengths"]
