"""DSIE: dual-scale interest extraction with self-supervision.

"Dual-Scale Interest Extraction Framework with Self-Supervision for Sequential
Recommendation", arXiv 2310.10025. No code of the paper is public and its text leaves
several forms open; this is the simplest reading consistent with it (the choices are
listed under *Readings*).

**Global scale — inherent preference.** The item vectors of the whole input sequence
(plus position vectors) pass through a 1-D ResNet (:class:`~graphrec.nn.resnet1d.ResNet1d`)
and a bidirectional self-attention encoder (:class:`~graphrec.nn.transformer.CausalTransformerEncoder`
with ``causal=False``); the mean over the real positions is the inherent preference
:math:`g_u \\in \\mathbb{R}^D`. Self-supervision (term ``cl``): the preference of the
sequence and of an item-shuffled view (:func:`graphrec.data.augment.item_shuffle`, made in
the batch step) should agree, with the other rows of the batch as negatives
(:func:`graphrec.losses.info_nce` on cosines, both directions averaged):

.. math::
    \\mathcal{L}_{cl} = \\tfrac12\\big(\\ell(g, \\tilde g) + \\ell(\\tilde g, g)\\big), \\quad
    \\ell(a, b) = -\\frac{1}{B}\\sum_u \\log
    \\frac{e^{\\cos(a_u, b_u)/\\tau_{cl}}}{\\sum_{v} e^{\\cos(a_u, b_v)/\\tau_{cl}}}

**Local scale — diverse interests.** Intention prototypes cluster the items of the
sequence into ``K`` interests :math:`m_{u,1..K}` with noise filtering, position weighting and
prototype-guided attention (:class:`~graphrec.nn.intention.IntentionPrototypeExtractor`).

**Aggregation.** The interests are weighted by their agreement with the inherent preference:

.. math::
    \\beta_{u,k} = \\mathrm{softmax}_k\\big(\\cos(g_u, m_{u,k}) / \\tau\\big), \\qquad
    v_u = \\sum_k \\beta_{u,k}\\, m_{u,k}

and :math:`v_u` scores the next item. **Training** is ComiRec's one target per row
(:func:`graphrec.models.multi_interest.one_target_batch`): term ``rec`` is the sampled softmax of
:math:`v_u` over shared log-uniform negatives with log-Q correction (the
:class:`~graphrec.nn.multi_interest.InterestSampledSoftmax` objective with one interest),
term ``orth`` the orthogonality of the interests
(:func:`graphrec.losses.interest_orthogonality`, ``K > 1`` only). Weights from
``train.loss_weights`` (``rec``, ``cl``, ``orth``).

**Serving.** ``readout="aggregate"`` (default): ``interests`` returns :math:`v_u` as
``(B, 1, D)`` — the prediction the model is trained on — under either protocol;
``readout="interests"`` returns the ``K`` local interests ``(B, K, D)`` for ComiRec's
per-interest retrieval and merge.

**Ablations**: ``use_global=False`` (no global scale: :math:`\\beta = 1/K`, no ``cl``),
``contrastive=False`` (global scale without the shuffle loss), ``num_interests`` (``K``),
``temperature`` (:math:`\\tau`).

**Readings.** The global preference is a masked mean of the attention outputs; the
agreement is a cosine (the preference and the interests live at different scales);
noise filtering is a softmax over the prototypes plus a learned null option; the guided
attention uses each prototype as the query over position-aware item keys; the
contrastive loss is symmetric; two residual blocks with kernel 3 and one attention
layer by default. ``kernel_size=1`` with ``global_positions=False`` makes the global
scale order-free (the shuffled view then has exactly the same preference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.augment import item_shuffle
from graphrec.data.batch import SeqBatch
from graphrec.losses import info_nce, interest_orthogonality
from graphrec.models.config import ModelConfig, MultiInterestConfig
from graphrec.models.multi_interest import MultiInterestRecommender
from graphrec.nn.dropout import Dropout
from graphrec.nn.embedding import right_aligned, trim_left_padding
from graphrec.nn.intention import IntentionPrototypeExtractor
from graphrec.nn.resnet1d import ResNet1d
from graphrec.nn.transformer import CausalTransformerEncoder

#: where the batch step puts the item-shuffled view of each prefix
SHUFFLED_KEY = "shuffled"
READOUTS = ("aggregate", "interests")
#: what the local scale clusters: the item vectors, or the global encoder's contextual states
LOCAL_INPUTS = ("items", "states")
#: how the inherent preference g enters the prediction
GLOBAL_PREDICTIONS = ("weights", "add", "gate")


@dataclass(frozen=True)
class DSIEConfig(MultiInterestConfig):
    """DSIE's options: the multi-interest ones (``K`` default 4) and

    Attributes:
        use_global: build the global scale.
        contrastive: add the shuffle contrastive term ``cl`` (needs ``use_global``).
        temperature: :math:`\\tau` of the aggregation.
        cl_temperature: :math:`\\tau_{cl}` of the contrastive loss.
        num_blocks: residual blocks of the 1-D ResNet.
        kernel_size: odd convolution width (1 is order-free).
        attention_layers: self-attention layers after the ResNet.
        num_heads: attention heads.
        global_positions: add position vectors at the global input.
        local_positions: position vectors in the local attention keys.
        cluster_temperature: :math:`\\tau_c` of the prototype clustering.
        dropout: dropout of the global encoder.
        orthogonality: add the ``orth`` term when ``K > 1``.
        readout: ``"aggregate"`` or ``"interests"`` (see the module docstring).
        local_input: what the local scale clusters, ``"items"`` (the history's item vectors)
            or ``"states"`` (the global encoder's contextual states, the paper's :math:`H_u`;
            needs ``use_global``).
        global_prediction: how the inherent preference :math:`g` enters the prediction:
            ``"weights"`` (only through the aggregation weights :math:`\\beta`),
            ``"add"`` (:math:`v = g + \\sum_k \\beta_k m_k`) or ``"gate"``
            (:math:`v = \\sigma(W[g; \\bar m]) \\odot g + (1 - \\sigma(W[g; \\bar m])) \\odot \\bar m`,
            :math:`\\bar m = \\sum_k \\beta_k m_k`); both need ``use_global``.
    """

    use_global: bool = True
    contrastive: bool = True
    temperature: float = 0.1
    cl_temperature: float = 0.1
    num_blocks: int = 2
    kernel_size: int = 3
    attention_layers: int = 1
    num_heads: int = 2
    global_positions: bool = True
    local_positions: bool = True
    cluster_temperature: float = 0.1
    dropout: float = 0.1
    orthogonality: bool = True
    readout: str = "aggregate"
    local_input: str = "items"
    global_prediction: str = "weights"

    def validate(self) -> None:
        for name in ("temperature", "cl_temperature", "cluster_temperature"):
            if getattr(self, name) <= 0:
                raise ValueError(f"model.{name} must be > 0, got {getattr(self, name)}")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown model.readout {self.readout!r}; valid: {list(READOUTS)}")
        if self.local_input not in LOCAL_INPUTS:
            raise ValueError(f"unknown model.local_input {self.local_input!r}; valid: {list(LOCAL_INPUTS)}")
        if self.global_prediction not in GLOBAL_PREDICTIONS:
            raise ValueError(f"unknown model.global_prediction {self.global_prediction!r}; "
                             f"valid: {list(GLOBAL_PREDICTIONS)}")
        if not self.use_global and (self.local_input != "items" or self.global_prediction != "weights"):
            raise ValueError("model.local_input=states and model.global_prediction=add|gate need the "
                             "global scale (model.use_global=True)")
        if self.contrastive and not self.use_global:
            raise ValueError("model.contrastive=True needs the global scale (model.use_global=True)")


class DSIE(MultiInterestRecommender):
    """Global inherent preference + local prototype interests, aggregated by agreement (module docstring).

    Args:
        num_items, config, item_counts, options: as
            :class:`~graphrec.models.multi_interest.MultiInterestRecommender`, with a
            :class:`DSIEConfig`.

    Shapes:
        ``interests``: ``(B, 1, D)`` (aggregate) or ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    loss_units: ClassVar[Mapping[str, str]] = {"rec": "rows", "cl": "rows", "orth": "rows"}
    Config: ClassVar[type[ModelConfig]] = DSIEConfig
    config: DSIEConfig

    def __init__(self, num_items: int, config: DSIEConfig | None = None, *,
                 item_counts: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_counts=item_counts)
        self.use_global = config.use_global
        self.contrastive = config.contrastive
        self.temperature = config.temperature
        self.cl_temperature = config.cl_temperature
        self.orthogonality = config.orthogonality
        self.readout = config.readout
        d = config.hidden_size
        self.local = IntentionPrototypeExtractor(d, config.num_interests, config.max_len,
                                                 config.cluster_temperature, config.local_positions,
                                                 config.init_std)
        self.global_position: nn.Parameter | None = None
        self.resnet: ResNet1d | None = None
        self.attention: CausalTransformerEncoder | None = None
        self.global_dropout = Dropout(config.dropout)
        if config.use_global:
            if config.global_positions:
                self.global_position = nn.Parameter(torch.empty(config.max_len, d))
            self.resnet = ResNet1d(d, config.num_blocks, config.kernel_size, config.dropout)
            self.attention = CausalTransformerEncoder(d, config.attention_layers, config.num_heads,
                                                      config.dropout, causal=False)
        self.gate: nn.Linear | None = nn.Linear(2 * d, d) if config.global_prediction == "gate" else None
        self._reset_global()

    def _reset_global(self) -> None:
        if self.global_position is not None:
            nn.init.normal_(self.global_position, std=self.init_std)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.local.reset_parameters()
        self._reset_global()
        if self.resnet is not None and self.attention is not None:
            self.resnet.reset_parameters()
            self.attention.reset_parameters()
        if self.gate is not None:
            self.gate.reset_parameters()

    def terms(self) -> tuple[str, ...]:
        """The loss terms this configuration returns."""
        names = ["rec"]
        if self.contrastive:
            names.append("cl")
        if self.orthogonality and self.num_interests > 1:
            names.append("orth")
        return tuple(names)

    # ------------------------------------------------------------------ encoding
    def global_states(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, W)`` left-padded ids -> the global states :math:`H_u` ``(B, W, D)`` and ``valid``."""
        if self.resnet is None or self.attention is None:
            raise RuntimeError("this DSIE has no global scale (use_global=False)")
        e, valid = self.embed(input_ids)  # (B, W, D)
        if self.global_position is not None:
            e = e + right_aligned(self.global_position, input_ids.shape[1]) * valid.unsqueeze(-1)  # (B, W, D)
        h = self.resnet(self.global_dropout(e), valid)  # (B, W, D)
        return self.attention(h, valid), valid  # (B, W, D), zero at padding

    def inherent_preference(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` left-padded ids -> ``(B, D)`` :math:`g_u` (global scale): the mean state."""
        h, valid = self.global_states(input_ids)
        count = valid.sum(dim=1, keepdim=True).clamp_min(1).to(h.dtype)  # (B, 1)
        return h.sum(dim=1) / count  # (B, D)

    def local_interests(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` ids -> ``(B, K, D)`` :math:`m_{u,k}` (local scale)."""
        e, valid = self.embed(input_ids)  # (B, W, D)
        return self.local(e, valid)  # (B, K, D)

    def aggregation_weights(self, g: Tensor | None, m: Tensor) -> Tensor:
        """``(B, K)`` :math:`\\beta_{u,k}` (uniform without the global scale)."""
        if g is None:
            return m.new_full(m.shape[:2], 1.0 / m.shape[1])  # (B, K)
        agree = torch.einsum("bd,bkd->bk", F.normalize(g, dim=-1), F.normalize(m, dim=-1))  # (B, K) cos
        return torch.softmax(agree / self.temperature, dim=1)  # (B, K)

    def forward_parts(self, input_ids: Tensor) -> tuple[Tensor | None, Tensor, Tensor]:
        """``g`` ``(B, D)`` or ``None``, ``m`` ``(B, K, D)`` and ``v`` ``(B, D)`` of a batch of sequences."""
        (input_ids,) = trim_left_padding(input_ids)
        g: Tensor | None = None
        if self.use_global:
            h, valid = self.global_states(input_ids)  # (B, W, D)
            count = valid.sum(dim=1, keepdim=True).clamp_min(1).to(h.dtype)  # (B, 1)
            g = h.sum(dim=1) / count  # (B, D)
        if self.config.local_input == "states":  # the config ensures the global scale exists
            m = self.local(h, valid)  # (B, K, D) from the contextual states H_u
        else:
            m = self.local_interests(input_ids)  # (B, K, D) from the item vectors
        beta = self.aggregation_weights(g, m)  # (B, K)
        v = torch.einsum("bk,bkd->bd", beta, m)  # (B, D)
        if g is not None and self.config.global_prediction == "add":
            v = g + v
        elif g is not None and self.gate is not None:
            gate = torch.sigmoid(self.gate(torch.cat([g, v], dim=-1)))  # (B, D)
            v = gate * g + (1.0 - gate) * v
        return g, m, v

    def encode(self, input_ids: Tensor) -> Tensor:
        _, m, v = self.forward_parts(input_ids)
        return v.unsqueeze(1) if self.readout == "aggregate" else m  # (B, 1, D) or (B, K, D)

    # ------------------------------------------------------------------ training
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """One random prefix and its next item per row; with ``cl`` also the prefix's item-shuffled view."""
        out = super().training_batch(batch, generator)
        if self.contrastive:
            out.extras[SHUFFLED_KEY] = item_shuffle(out.input_ids, generator)  # (B', L)
        return out

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        targets = self.batch_targets(batch)
        g, m, v = self.forward_parts(batch.input_ids)
        terms = {"rec": self.rec_loss(v.unsqueeze(1), targets)}
        if self.contrastive:
            if SHUFFLED_KEY not in batch.extras:
                raise ValueError("DSIE's cl term needs the shuffled view of training_batch "
                                 "(extras['shuffled'])")
            assert g is not None
            (shuffled,) = trim_left_padding(batch.extras[SHUFFLED_KEY])
            g_view = self.inherent_preference(shuffled)  # (B, D)
            terms["cl"] = 0.5 * (info_nce(g, g_view, self.cl_temperature, normalize=True)
                                 + info_nce(g_view, g, self.cl_temperature, normalize=True))
        if self.orthogonality and self.num_interests > 1:
            terms["orth"] = interest_orthogonality(m)
        return terms

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, use_global={self.use_global}, contrastive={self.contrastive}, "
                f"temperature={self.temperature}, readout={self.readout!r}")


__all__ = ["DSIE", "GLOBAL_PREDICTIONS", "LOCAL_INPUTS", "READOUTS", "SHUFFLED_KEY", "DSIEConfig"]
