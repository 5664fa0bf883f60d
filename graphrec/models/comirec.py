"""ComiRec: controllable multi-interest recommendation (the SA and DR extractors).

Cen et al., "Controllable Multi-Interest Framework for Recommendation", KDD 2020,
read together with its released code (THUDM/ComiRec, ``src/model.py``, ``src/train.py``).

**Extractors.** A user's history :math:`E_u` (the item vectors of the last ``L`` items)
becomes ``K`` interests :math:`V_u \\in \\mathbb{R}^{K \\times D}`:

* ComiRec-SA (§3.2.2, :class:`~graphrec.nn.multi_interest.SelfAttentiveExtractor`):
  :math:`A = \\mathrm{softmax}(W_2^\\top \\tanh(W_1^\\top (E_u + P)))^\\top`,
  :math:`V_u = A^\\top E_u`, with learned position vectors :math:`P` in the scores only;
* ComiRec-DR (§3.2.1, :class:`~graphrec.nn.capsule.CapsuleRouting`): dynamic routing
  with one bilinear map per (position, interest), routing logits starting at 0, three
  iterations, squash.

**Training and serving** are the multi-interest base's
(:mod:`graphrec.models.multi_interest`): one random prefix and its next item per training
row; the interest with the largest inner product with the target scores it in a sampled
softmax over shared log-uniform negatives with log-Q correction; each interest retrieves
its top-N and the lists are merged by score. Defaults are the code's: ``D = 64``,
``K = 4``, Adam lr 1e-3, batch 128, the window length ``max_len`` set per dataset (the
code: 20 for Amazon Books, 50 for Taobao).
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
from graphrec.nn.embedding import right_aligned
from graphrec.nn.multi_interest import SelfAttentiveExtractor


@dataclass(frozen=True)
class ComiRecSAConfig(MultiInterestConfig):
    """ComiRec-SA's options: the multi-interest ones and

    Attributes:
        add_positions: add learned position vectors to the attention input (the code's ``add_pos``).
    """

    add_positions: bool = True


@dataclass(frozen=True)
class ComiRecDRConfig(MultiInterestConfig):
    """ComiRec-DR's options: the multi-interest ones and

    Attributes:
        routing_iterations: dynamic-routing iterations.
    """

    routing_iterations: int = 3


class ComiRecSA(MultiInterestRecommender):
    """ComiRec-SA: self-attentive multi-interest extraction (see the module docstring).

    Args:
        num_items, config, item_counts, options: as
            :class:`~graphrec.models.multi_interest.MultiInterestRecommender`, with a
            :class:`ComiRecSAConfig`.
    """

    Config: ClassVar[type[ModelConfig]] = ComiRecSAConfig
    config: ComiRecSAConfig

    def __init__(self, num_items: int, config: ComiRecSAConfig | None = None, *,
                 item_counts: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_counts=item_counts)
        self.add_positions = config.add_positions
        self.position = (nn.Parameter(torch.empty(config.max_len, config.hidden_size))
                         if config.add_positions else None)
        self.extractor = SelfAttentiveExtractor(config.hidden_size, config.num_interests)
        self._reset_positions()

    def _reset_positions(self) -> None:
        if self.position is not None:
            nn.init.xavier_uniform_(self.position)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_positions()
        self.extractor.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D) E_u, (B, W)
        keys = e if self.position is None else e + right_aligned(self.position, e.shape[1])  # (B, W, D)
        return self.extractor(keys, e, valid)  # (B, K, D) V_u

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, add_positions={self.add_positions}"


class ComiRecDR(MultiInterestRecommender):
    """ComiRec-DR: dynamic-routing multi-interest extraction (see the module docstring).

    Args:
        num_items, config, item_counts, options: as
            :class:`~graphrec.models.multi_interest.MultiInterestRecommender`, with a
            :class:`ComiRecDRConfig`.
    """

    Config: ClassVar[type[ModelConfig]] = ComiRecDRConfig
    config: ComiRecDRConfig

    def __init__(self, num_items: int, config: ComiRecDRConfig | None = None, *,
                 item_counts: npt.ArrayLike | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config, item_counts=item_counts)
        self.capsules = CapsuleRouting(config.hidden_size, config.num_interests, config.max_len,
                                       "per_position", config.routing_iterations)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.capsules.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D)
        return self.capsules(e, valid)  # (B, K, D)


__all__ = ["ComiRecDR", "ComiRecDRConfig", "ComiRecSA", "ComiRecSAConfig"]
