"""MIND: multi-interest network with dynamic routing.

Li et al., "Multi-Interest Network with Dynamic Routing for Recommendation at
Tmall", CIKM 2019, as re-implemented in the released ComiRec code
(``Model_MIND``), the version the multi-interest papers (ComiRec, REMI, HPCL4SR)
compare against.

**Extractor** (§3.3, behaviour-to-interest routing,
:class:`~graphrec.nn.capsule.CapsuleRouting` with ``bilinear="shared"``): one bilinear
map :math:`S \\in \\mathbb{R}^{D \\times D}` shared by all behaviours and interests,
routing logits initialised from a truncated :math:`\\mathcal{N}(0, 1)` (otherwise all
``K`` capsules would coincide), three iterations with the logits' gradient stopped,
squash; then a ReLU fully-connected layer on every interest (the code's ``relu_layer``,
standing for MIND's ReLU layers after the extractor):

.. math::
    \\hat e_t = S e_t, \\qquad
    w_{k,t} = \\mathrm{softmax}_k(b_{k,t}), \\qquad
    u_k = \\mathrm{squash}\\Big(\\sum_t w_{k,t} \\hat e_t\\Big), \\qquad
    b_{k,t} \\mathrel{+}= \\hat e_t^\\top u_k, \\qquad
    v_k = \\mathrm{ReLU}(W u_k + b)

**Training** is ComiRec's (:mod:`graphrec.models.multi_interest`): one random prefix and its
next item per training row; the label-aware attention with hard readout (the interest
most aligned with the target, :math:`p \\to \\infty` in MIND's Eq. 8 — the ComiRec code's
``hard_readout=True``) scores a sampled softmax with log-Q correction. Not modelled:
MIND's dynamic number of interests :math:`K_u = \\max(1, \\min(K, \\log_2 |I_u|))` and
its user-profile features (neither is in the ComiRec re-implementation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy.typing as npt
import torch
from torch import Tensor, nn

from graphrec.models.config import ModelConfig, MultiInterestConfig
from graphrec.models.multi_interest import MultiInterestRecommender
from graphrec.nn.capsule import CapsuleRouting


@dataclass(frozen=True)
class MINDConfig(MultiInterestConfig):
    """MIND's options: the multi-interest ones and

    Attributes:
        routing_iterations: dynamic-routing iterations.
        relu_layer: ReLU fully-connected layer on the capsules.
    """

    routing_iterations: int = 3
    relu_layer: bool = True


class MIND(MultiInterestRecommender):
    """MIND's capsule extractor with ComiRec's training (see the module docstring).

    Args:
        num_items, config, item_counts, options: as
            :class:`~graphrec.models.multi_interest.MultiInterestRecommender`, with a
            :class:`MINDConfig`.

    Shapes:
        ``interests``: ``(B, K, D)``.
    """

    Config: ClassVar[type[ModelConfig]] = MINDConfig
    config: MINDConfig

    def __init__(self, num_items: int, config: MINDConfig | None = None, *,
                 item_counts: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_counts=item_counts)
        d = config.hidden_size
        self.capsules = CapsuleRouting(d, config.num_interests, config.max_len, "shared",
                                       config.routing_iterations)
        self.proj = nn.Linear(d, d) if config.relu_layer else None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.capsules.reset_parameters()
        if self.proj is not None:
            self.proj.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D)
        capsules = self.capsules(e, valid)  # (B, K, D)
        return capsules if self.proj is None else torch.relu(self.proj(capsules))  # (B, K, D)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, relu_layer={self.proj is not None}"


__all__ = ["MIND", "MINDConfig"]
