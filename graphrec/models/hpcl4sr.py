"""HPCL4SR: high-level preferences as positive examples in contrastive learning.

Zhu et al., "High-level preferences as positive examples in contrastive learning for
multi-interest sequential recommendation", World Wide Web 2024. No code of the paper
is public; this is a reading of its equations, built from the library's shared
layers. Names follow the paper: :math:`Q_u` (high-level interests, from categories),
:math:`P_u` (low-level interests, from items), :math:`M_u` (fused interests, used for
retrieval).

**High-level interests** :math:`Q_u` (§4.1). The category graph :math:`A_1` counts how
often two categories are adjacent in the *training part* of the split
(:meth:`ModelContext.normalized_category_graph
<graphrec.models.context.ModelContext.normalized_category_graph>`: the training users'
sequences and the held-out users' histories, never their targets), normalised by
Eq. 1, :math:`A_2(i,j) = a_{ij} / \\sqrt{(a_i + 1)(a_j + 1)}`. Category embeddings
:math:`H^{(0)} \\in \\mathbb{R}^{|C| \\times d}` go through a residual GCN whose propagation
is multi-hop attention diffusion over :math:`A_2` (Eq. 2–4,
:class:`~graphrec.nn.residual_gcn.ResidualGCN` with
:class:`~graphrec.nn.diffusion.AttentionDiffusion`, ``gcn_layers`` layers,
``diffusion_hops`` hops, :math:`\\theta_i = \\alpha(1 - \\alpha)^i`; the attention is
computed on the edges with the Eq. 1 weights as prior, "attention weights are used to
reconstruct the adjacency matrix"):

.. math::
    \\mathcal{A} = \\sum_{i} \\theta_i A_2^i, \\quad
    H^{(l)} = W^{(l)}(\\mathcal{A} H^{(l-1)}) + H^{(l-1)}, \\quad
    \\hat H = \\frac{1}{L+1}\\sum_{l=0}^{L} H^{(l)}, \\quad
    H_g = \\hat H[c_1..c_N], \\quad Q_u = W_Q H_g

Eq. 4's printed minus sign is read as a typo (see :mod:`graphrec.nn.residual_gcn`).
**Reading of Eq. 6:** :math:`H_g \\in \\mathbb{R}^{N \\times d}` and :math:`Q_u \\in
\\mathbb{R}^{K \\times d}`, so :math:`W_Q \\in \\mathbb{R}^{K \\times N}` mixes the positions of
the sequence (:class:`~graphrec.nn.multi_interest.PositionPooling`, positions counted
from the newest item, padding left out).

**Low-level interests** :math:`P_u` (§4.2). Items plus positions (Eq. 7),
parameter-free item-to-item attention over the whole sequence and a linear map
(Eq. 8–9, :class:`~graphrec.nn.multi_interest.ContextSelfAttention`), then capsules
(Eq. 10, :class:`~graphrec.nn.capsule.CapsuleRouting`: ComiRec-DR's dynamic routing by
default, ``capsule_bilinear`` selects MIND's shared map):

.. math::
    X_i = E_i + P_i, \\quad \\alpha_{ij} = \\mathrm{softmax}_j(X_i X_j^\\top), \\quad
    X'_i = W(X_i + \\textstyle\\sum_j \\alpha_{ij} X_j), \\quad P_u = \\mathrm{CapsNet}(X'_1..X'_N)

**Category classification** (Eq. 11–12, term ``class``). **Reading:** "the first layer
information of the capsule network" are its low-level (behaviour) capsules, the
:math:`X'_i` that enter the routing; a linear classifier predicts each item's category
from them with a softmax, and Eq. 12 (printed in a binary form) is read as the
categorical cross-entropy against the one-hot category, averaged over the positions
whose item has a known category (the loss unit ``class_positions``).

**Fusion** (Eq. 13): :math:`M_u = W_M\\,[Q_u; P_u]` per interest, a linear map of the
concatenation (``2d -> d``); interest ``k`` of :math:`Q_u` pairs with interest ``k`` of
:math:`P_u`.

**Multi-interest contrastive loss** (Eq. 15–17, term ``mulcl``,
:func:`~graphrec.losses.angular_margin_info_nce`). The ``2K`` vectors of
:math:`P_u \\cup M_u` are anchors; the positive of :math:`M_u^k` is :math:`P_u^k` and vice
versa, with an additive angular margin on the positive's angle; the other ``2K - 2``
vectors of the user are the negatives (no other user is involved):

.. math::
    \\mathcal{L}_{mulCL} = -\\sum_i \\log \\frac{e^{\\cos(\\theta_{i,i^*} + m)/\\tau}}
    {e^{\\cos(\\theta_{i,i^*} + m)/\\tau} + \\sum_{j \\ne i, i^*} e^{\\cos\\theta_{i,j}/\\tau}}

averaged over all anchors of the batch (``mulcl_reduction = "mean"``, the default).
**Reading of the sum:** Eq. 17 sums over a user's ``2K`` anchors; taken literally
(``"group_sum"``: the sum over the ``2K`` anchors, averaged over users) the term weighs
``2K = 8`` times the mean, which at the paper's :math:`\\lambda_2 = 1`, :math:`\\tau = 0.05`
would swamp the recommendation loss. The paper's own sensitivity study (Fig. 4: too large a
:math:`\\lambda_2` "can mask the recommendation loss") places its :math:`\\lambda_2 = 1`
where the term does not dominate, which the mean reading gives (measurements:
``docs/pages/models/hpcl4sr-measurements.md``).
**Reading of the denominator:** Eq. 17
prints :math:`\\sum_{j \\ne i}`, which would count the positive again without margin;
Eq. 15 (ArcFace's form) and the text's "2K - 2 negatives" give the form above.
**Reading of m:** the margin is added to an angle; ``m = 10`` as radians would wrap
around the circle (:math:`\\cos(\\theta + 10)` is not monotone in :math:`\\theta` on
:math:`[0, \\pi]`) and the sweep :math:`m \\in \\{0, 5, 10, 15, 20\\}` only makes sense as
**degrees**: 10° = 0.175 rad, a third of ArcFace's 0.5 rad. ``margin`` is therefore
given in degrees and converted to radians.

**Recommendation loss** (Eq. 18–19, term ``rec``): the interest of :math:`M_u` with the
largest inner product with the target item scores it in a sampled softmax with log-Q
correction (:class:`~graphrec.nn.multi_interest.InterestSampledSoftmax`). Training is
one target per row (ComiRec's scheme, :mod:`graphrec.models.multi_interest`): a random prefix
of every training row and its next item.

**Joint loss** (Eq. 20): :math:`\\mathcal{L} = \\mathcal{L}_{rec} + \\lambda_1 \\mathcal{L}_{class}
+ \\lambda_2 \\mathcal{L}_{mulCL}` with the weights in ``train.loss_weights`` (``rec``,
``class``, ``mulcl``): the paper's :math:`\\lambda_1 = 0.1`, :math:`\\lambda_2 = 1` are set by
the example configs; a term without a weight counts 1. Paper defaults otherwise:
``K = 4``, ``d = 64``, :math:`\\tau = 0.05`, ``m = 10`` (degrees), Adam lr 1e-3, batch 128,
max length 30 (Amazon-Clothing, Ta-Feng) or 20 (Tmall).

**Ablations** (Table 3), ``variant``:

===============  ============================  ==========  ====================  ============================
``variant``      Table 3 row                   interests   fusion                terms
===============  ============================  ==========  ====================  ============================
``base``         base (items only)             P_u         —                     rec
``base_class``   base (w L_class)              P_u         —                     rec, class
``fusion_add``   HPCL4SR (w '+')               M_u         Q_u + P_u             rec, class, mulcl
``fusion_mul``   HPCL4SR (w '*')               M_u         Q_u * P_u             rec, class, mulcl
``capsule_reg``  HPCL4SR (w CR)                M_u         W_M [Q_u; P_u]        rec, class, capreg
``no_margin``    HPCL4SR (w/o m)               M_u         W_M [Q_u; P_u]        rec, class, mulcl (m = 0)
``full``         HPCL4SR                       M_u         W_M [Q_u; P_u]        rec, class, mulcl
===============  ============================  ==========  ====================  ============================

The fusion rows are read as the full model with another fusion (the text: "three
methods of integrating Q_u and P_u ... addition, multiplication, adaptive fusion").
``capreg`` (:func:`~graphrec.losses.interest_orthogonality`) is the capsule
regularisation of MIRACLE, read as an orthogonality penalty on the capsules
:math:`P_u`, in place of the contrastive loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.graph.diffusion import DIFFUSION_WEIGHTS
from graphrec.losses import angular_margin_info_nce, interest_orthogonality
from graphrec.models.config import ModelConfig, MultiInterestConfig
from graphrec.models.multi_interest import MultiInterestRecommender
from graphrec.nn.capsule import BILINEAR_TYPES, CAPSULE_INITS, ROUTING_SOFTMAX, CapsuleRouting
from graphrec.nn.embedding import right_aligned, trim_left_padding
from graphrec.nn.multi_interest import ContextSelfAttention, PositionPooling
from graphrec.nn.residual_gcn import ResidualGCN, category_lookup

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext


class Variant(NamedTuple):
    """What one Table 3 row switches on."""

    fusion: str | None  # "mlp" | "add" | "mul" | None (no Q_u: interests are P_u)
    use_class: bool  # L_class
    contrast: str | None  # "mulcl" | "capreg" | None
    margin: bool  # the angular margin of mulcl


VARIANTS: dict[str, Variant] = {
    "full": Variant("mlp", True, "mulcl", True),
    "base": Variant(None, False, None, False),
    "base_class": Variant(None, True, None, False),
    "fusion_add": Variant("add", True, "mulcl", True),
    "fusion_mul": Variant("mul", True, "mulcl", True),
    "capsule_reg": Variant("mlp", True, "capreg", False),
    "no_margin": Variant("mlp", True, "mulcl", False),
}
MULCL_REDUCTIONS = ("group_sum", "mean")
#: W_Q of Eq. 6: a signed mixing of positions, or weights normalised over the real positions
QUERY_POOLING = ("mixing", "softmax")
#: Eq. 12: the mean over known positions, or per sequence the sum (as printed)
CLASS_REDUCTIONS = ("mean", "sequence_sum")


class Encoded(NamedTuple):
    """Everything one forward pass computes (padding-trimmed width ``W``)."""

    interests: Tensor  # (B, K, d): M_u, or P_u for the variants without Q_u
    low: Tensor  # (B, K, d) P_u
    items: Tensor  # (B, W, d) X'_i, the capsules' input (Eq. 9), zero at padding
    input_ids: Tensor  # (B, W)


@dataclass(frozen=True)
class HPCL4SRConfig(MultiInterestConfig):
    """HPCL4SR's options: the multi-interest ones (``hidden_size`` = ``d`` = 64,
    ``num_interests`` = ``K`` = 4) and

    Attributes:
        variant: a Table 3 row (see :data:`VARIANTS`).
        routing_iterations: capsule routing iterations.
        capsule_bilinear: the capsules' bilinear map, ``"per_position"`` (ComiRec-DR),
            ``"per_interest"`` or ``"shared"`` (MIND).
        gcn_layers: residual GCN layers ``L`` (Eq. 3).
        diffusion_hops: diffusion hops of Eq. 2.
        diffusion_alpha: :math:`\\alpha` of :math:`\\theta_i = \\alpha(1-\\alpha)^i`.
        diffusion_attention: learn the diffusion attention (False diffuses over the Eq. 1 weights
            as they are).
        temperature: :math:`\\tau` of Eq. 15–17.
        margin: :math:`m` of Eq. 15–17 in **degrees** (ignored by ``no_margin``).
        mulcl_reduction: ``"mean"`` (mean over all anchors) or ``"group_sum"`` (Eq. 17
            literally: the sum over a user's ``2K`` anchors, mean over users).
        capsule_softmax: the routing's softmax axis for :math:`P_u` (Eq. 10, which names no
            capsule network): ``"interests"`` (ComiRec-DR, MIND) or ``"positions"`` (REMI's
            PyTorch capsule).
        capsule_init: the capsule maps' initialisation, ``"normal"``, ``"glorot"`` or
            ``"kaiming"`` (REMI); empty: the bilinear map's default.
        query_pooling: :math:`W_Q` of Eq. 6, ``"mixing"`` (a signed mixing of positions) or
            ``"softmax"`` (weights normalised over the user's real positions).
        fusion_bias: Eq. 13 with a bias (the printed equation has none).
        diffusion_weights: Eq. 2's hop weights, ``"remainder"`` (the truncated series'
            remainder on the last hop) or ``"normalized"`` (decreasing, as line 155 states).
        class_reduction: Eq. 12, ``"mean"`` over known positions or ``"sequence_sum"`` (as
            printed: the sum over a sequence's positions, mean over sequences).
    """

    variant: str = "full"
    routing_iterations: int = 3
    capsule_bilinear: str = "per_position"
    gcn_layers: int = 2
    diffusion_hops: int = 3
    diffusion_alpha: float = 0.15
    diffusion_attention: bool = True
    temperature: float = 0.05
    margin: float = 10.0
    mulcl_reduction: str = "mean"
    capsule_softmax: str = "interests"
    capsule_init: str = ""
    query_pooling: str = "mixing"
    fusion_bias: bool = True
    diffusion_weights: str = "remainder"
    class_reduction: str = "mean"

    def validate(self) -> None:
        choices = {"capsule_softmax": ROUTING_SOFTMAX, "capsule_init": ("", *CAPSULE_INITS),
                   "query_pooling": QUERY_POOLING, "diffusion_weights": DIFFUSION_WEIGHTS,
                   "class_reduction": CLASS_REDUCTIONS}
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise ValueError(f"unknown model.{key} {getattr(self, key)!r}; valid: {list(valid)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown HPCL4SR model.variant {self.variant!r}; valid: {sorted(VARIANTS)}")
        if self.capsule_bilinear not in BILINEAR_TYPES:
            raise ValueError(f"unknown model.capsule_bilinear {self.capsule_bilinear!r}; "
                             f"valid: {list(BILINEAR_TYPES)}")
        if self.temperature <= 0:
            raise ValueError(f"model.temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.margin < 180.0:
            raise ValueError(f"model.margin is in degrees and must lie in [0, 180), got {self.margin}")
        if self.mulcl_reduction not in MULCL_REDUCTIONS:
            raise ValueError(f"unknown model.mulcl_reduction {self.mulcl_reduction!r}; "
                             f"valid: {list(MULCL_REDUCTIONS)}")


class HPCL4SR(MultiInterestRecommender):
    """HPCL4SR (see the module docstring for every equation and reading).

    Args:
        num_items, config, item_counts, options: as
            :class:`~graphrec.models.multi_interest.MultiInterestRecommender`, with an
            :class:`HPCL4SRConfig`.
        item_category: ``(N + 1,)`` category of every item (0 = unknown).
        category_edge_index: ``(2, E)`` edges of the category graph (node ``c - 1`` =
            category ``c``).
        category_edge_weight: ``(E,)`` their Eq. 1 weights.
        num_categories: ``C`` (the graph's nodes; default: the largest category of ``item_category``).

    ``from_context`` supplies the last four from the split's training part. Without them
    only the ``base`` variant can run.

    Shapes:
        ``interests``: ``(B, K, d)`` (:math:`M_u`; :math:`P_u` for ``base``/``base_class``).
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "rows", "class": "class_positions",
                                               "mulcl": "rows", "capreg": "rows"}
    Config: ClassVar[type[ModelConfig]] = HPCL4SRConfig
    config: HPCL4SRConfig
    item_category: Tensor
    category_edge_index: Tensor
    category_edge_weight: Tensor

    def __init__(
        self,
        num_items: int,
        config: HPCL4SRConfig | None = None,
        *,
        item_counts: npt.ArrayLike | None = None,
        item_category: npt.ArrayLike | None = None,
        category_edge_index: npt.ArrayLike | None = None,
        category_edge_weight: npt.ArrayLike | None = None,
        num_categories: int | None = None,
        **options: Any,
    ) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_counts=item_counts)
        self.variant = config.variant
        self.setup = VARIANTS[config.variant]
        self.temperature = config.temperature
        self.margin = config.margin
        self.mulcl_reduction = config.mulcl_reduction
        d = config.hidden_size

        # ---- data: item -> category and the Eq. 1 category graph (buffers: in the checkpoint)
        self.register_buffer("item_category", _long(item_category, (-1,)))
        self.register_buffer("category_edge_index", _long(category_edge_index, (2, -1)))
        weight = (torch.zeros(0) if category_edge_weight is None
                  else torch.as_tensor(category_edge_weight, dtype=torch.float32).reshape(-1))
        self.register_buffer("category_edge_weight", weight)
        self.has_graph = category_edge_index is not None
        if self.item_category.numel() and self.item_category.numel() != num_items + 1:
            raise ValueError(f"item_category must have N + 1 = {num_items + 1} entries, "
                             f"got {self.item_category.numel()}")
        if self.category_edge_weight.numel() != self.category_edge_index.shape[1]:
            raise ValueError("category_edge_weight needs one weight per edge of category_edge_index")
        known = int(self.item_category.max()) if self.item_category.numel() else 0
        self.num_categories = int(num_categories) if num_categories is not None else known
        if known > self.num_categories:
            raise ValueError(f"item_category holds category {known} but "
                             f"num_categories = {self.num_categories}")
        cats = max(self.num_categories, 1)  # layers exist (and load) even before data is given

        # ---- low level: Eq. 7-10
        self.position = nn.Parameter(torch.empty(config.max_len, d))  # E^pos, newest item = last row
        self.context = ContextSelfAttention(d)  # Eq. 8-9
        self.capsules = CapsuleRouting(d, config.num_interests, config.max_len, config.capsule_bilinear,
                                       config.routing_iterations, softmax=config.capsule_softmax,
                                       weight_init=config.capsule_init or None)  # Eq. 10
        self.classifier = nn.Linear(d, cats) if self.setup.use_class else None  # Eq. 11

        # ---- high level: Eq. 2-6, and the fusion of Eq. 13
        self.category: nn.Embedding | None = None
        self.gcn: ResidualGCN | None = None
        self.pool: PositionPooling | None = None
        self.fusion: nn.Linear | None = None
        if self.setup.fusion is not None:
            self.category = nn.Embedding(cats, d)  # H^(0)
            self.gcn = ResidualGCN(d, config.gcn_layers, config.diffusion_hops, config.diffusion_alpha,
                                   config.diffusion_attention, diffusion_weights=config.diffusion_weights)
            self.pool = PositionPooling(config.num_interests, config.max_len,
                                        normalize=config.query_pooling == "softmax")  # W_Q of Eq. 6
            if self.setup.fusion == "mlp":
                self.fusion = nn.Linear(2 * d, d, bias=config.fusion_bias)  # W_M of Eq. 13
        self._reset_own()

    def _reset_own(self) -> None:
        nn.init.normal_(self.position, std=self.init_std)
        if self.category is not None:
            nn.init.normal_(self.category.weight, std=self.init_std)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_own()
        for module in (self.context, self.capsules, self.classifier, self.gcn, self.pool, self.fusion):
            if module is not None:
                module.reset_parameters()  # type: ignore[operator]  # every layer here has one

    @classmethod
    def build_from_context(cls, ctx: ModelContext, options: dict[str, Any]) -> MultiInterestRecommender:
        """Item → category and the Eq. 1 graph of the split's training part."""
        options = dict(options)
        item_counts = options.pop("item_counts", ctx.item_counts)
        config = cls.make_config(None, options)
        variant = VARIANTS[config.variant]
        data: dict[str, Any] = {}
        if ctx.num_categories == 0:
            if variant.fusion is not None or variant.use_class:
                raise ValueError("HPCL4SR needs item categories (the dataset has none); only "
                                 "model.variant=base runs without them")
        else:
            data.update(item_category=ctx.item_category, num_categories=ctx.num_categories)
            if variant.fusion is not None:
                graph = ctx.normalized_category_graph()
                data.update(category_edge_index=graph.edge_index, category_edge_weight=graph.edge_weight,
                            num_categories=max(ctx.num_categories, int(graph.num_nodes)))
        return cls(ctx.num_items, config, item_counts=item_counts, **data)

    # ------------------------------------------------------------------ terms
    def terms(self) -> tuple[str, ...]:
        """The loss terms this variant returns."""
        names = ["rec"]
        if self.setup.use_class:
            names.append("class")
        if self.setup.contrast is not None:
            names.append(self.setup.contrast)
        return tuple(names)

    @property
    def margin_radians(self) -> float:
        """:math:`m` in radians (0 for ``no_margin``)."""
        return math.radians(self.margin) if self.setup.margin else 0.0

    # ------------------------------------------------------------------ encoding
    def _need_categories(self, graph: bool = False) -> None:
        if self.item_category.numel() == 0 or (graph and not self.has_graph):
            raise ValueError(f"HPCL4SR variant {self.variant!r} needs item categories and the category "
                             "graph; build it with from_context (or pass item_category, "
                             "category_edge_index, category_edge_weight)")

    def low_level(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, W)`` ids -> :math:`X'` ``(B, W, d)`` (Eq. 7–9) and :math:`P_u` ``(B, K, d)`` (Eq. 10)."""
        e, valid = self.embed(input_ids)  # (B, W, d) E^emb
        x = (e + right_aligned(self.position, input_ids.shape[1])) * valid.unsqueeze(-1)  # (B, W, d) Eq. 7
        x = self.context(x, valid)  # (B, W, d) Eq. 8-9
        return x, self.capsules(x, valid)  # (B, K, d) P_u

    def category_nodes(self) -> Tensor:
        """:math:`\\hat H` ``(C, d)``: category embeddings after the diffusion GCN (Eq. 2–4)."""
        assert self.category is not None and self.gcn is not None
        self._need_categories(graph=True)
        return self.gcn(self.category.weight, self.category_edge_index, self.category_edge_weight)  # (C, d)

    def high_level(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` ids -> :math:`Q_u` ``(B, K, d)`` (Eq. 5–6)."""
        assert self.pool is not None
        h_g = category_lookup(self.category_nodes(), input_ids, self.item_category)  # (B, W, d) H_g
        return self.pool(h_g, input_ids > 0)  # (B, K, d) Q_u

    def fuse(self, q: Tensor, p: Tensor) -> Tensor:
        """:math:`M_u` ``(B, K, d)`` from :math:`Q_u` and :math:`P_u` (Eq. 13, or '+' / '*')."""
        if self.setup.fusion == "add":
            return q + p
        if self.setup.fusion == "mul":
            return q * p
        assert self.fusion is not None
        return self.fusion(torch.cat([q, p], dim=-1))  # (B, K, 2d) -> (B, K, d)

    def forward_all(self, input_ids: Tensor) -> Encoded:
        """Every representation of a (padding-trimmed) batch: :math:`M_u`, :math:`P_u`, :math:`X'`."""
        (input_ids,) = trim_left_padding(input_ids)
        items, low = self.low_level(input_ids)  # (B, W, d), (B, K, d) P_u
        if self.setup.fusion is None:
            return Encoded(low, low, items, input_ids)
        fused = self.fuse(self.high_level(input_ids), low)  # (B, K, d) M_u
        return Encoded(fused, low, items, input_ids)

    def encode(self, input_ids: Tensor) -> Tensor:
        return self.forward_all(input_ids).interests  # (B, K, d)

    # ------------------------------------------------------------------ training
    def loss_counts(self, batch: SeqBatch) -> dict[str, float]:
        """Adds ``class_positions``: input positions whose item has a known category."""
        counts = super().loss_counts(batch)
        if self.setup.use_class and self.item_category.numel():
            cats = self.item_category.to(batch.input_ids.device)[batch.input_ids]  # (B, L)
            counts["class_positions"] = float(((batch.input_ids > 0) & (cats > 0)).sum())
        else:
            counts["class_positions"] = 0.0
        return counts

    def loss_unit(self, term: str, batch: SeqBatch) -> str:
        """``class`` is a mean over rows when Eq. 12 sums over each sequence's positions."""
        if term == "class" and self.config.class_reduction == "sequence_sum":
            return "rows"
        return super().loss_unit(term, batch)

    def class_loss(self, items: Tensor, input_ids: Tensor) -> Tensor:
        """Eq. 11–12: cross-entropy of each position's category from :math:`X'_i`.

        ``class_reduction="mean"``: the mean over positions of known category;
        ``"sequence_sum"``: per sequence the sum over its positions, then the mean over sequences.
        """
        assert self.classifier is not None
        self._need_categories()
        cats = self.item_category[input_ids]  # (B, W), 0 = unknown or padding
        known = (input_ids > 0) & (cats > 0)  # (B, W)
        if not bool(known.any()):
            return items.sum() * 0.0
        logits = self.classifier(items[known])  # (P, C) Eq. 11 before the softmax
        if self.config.class_reduction == "sequence_sum":
            per_position = F.cross_entropy(logits, cats[known] - 1, reduction="none")  # (P,)
            return per_position.sum() / input_ids.shape[0]
        return F.cross_entropy(logits, cats[known] - 1)  # Eq. 12, classes 0..C-1

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        targets = self.batch_targets(batch)
        out = self.forward_all(batch.input_ids)
        terms = {"rec": self.rec_loss(out.interests, targets)}  # Eq. 18-19 on M_u
        if self.setup.use_class:
            terms["class"] = self.class_loss(out.items, out.input_ids)
        if self.setup.contrast == "mulcl":  # Eq. 15-17 between M_u and P_u
            terms["mulcl"] = angular_margin_info_nce(out.interests, out.low, self.temperature,
                                                     self.margin_radians, self.mulcl_reduction)
        elif self.setup.contrast == "capreg":
            terms["capreg"] = interest_orthogonality(out.low)
        return terms

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, variant={self.variant!r}, terms={list(self.terms())}, "
                f"num_categories={self.num_categories}, temperature={self.temperature}, "
                f"margin={self.margin} deg")


def _long(value: npt.ArrayLike | None, shape: tuple[int, ...]) -> Tensor:
    """``value`` as an int64 tensor of ``shape`` (``-1`` free), or an empty one of that rank."""
    if value is None:
        return torch.zeros(tuple(0 if s == -1 else s for s in shape), dtype=torch.long)
    return torch.as_tensor(value, dtype=torch.long).reshape(shape)


__all__ = ["HPCL4SR", "MULCL_REDUCTIONS", "VARIANTS", "HPCL4SRConfig", "Variant"]
