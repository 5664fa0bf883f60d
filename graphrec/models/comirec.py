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
        position_origin: which item gets position row 0: ``"newest"`` counts back from the
            newest item (the newest always gets row ``max_len - 1``); ``"oldest"`` counts from
            the oldest item of the window, as the released code does on its right-padded
            windows. ``recipe="dense"`` needs ``"oldest"`` (a prefix then keeps its positions).
    """

    add_positions: bool = True
    position_origin: str = "newest"

    def validate(self) -> None:
        super().validate()
        if self.position_origin not in ("newest", "oldest"):
            raise ValueError("model.position_origin must be 'newest' or 'oldest', "
                             f"got {self.position_origin!r}")
        if self.recipe == "dense" and self.add_positions and self.position_origin != "oldest":
            raise ValueError("model.recipe = 'dense' needs model.position_origin = 'oldest' (or "
                             "model.add_positions = false): positions counted from the newest item "
                             "change with every prefix")


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
    has_prefix_encoder: ClassVar[bool] = True

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

    def keys(self, e: Tensor, valid: Tensor) -> Tensor:
        """``(B, W, D)`` attention input :math:`H = E + P` (zero at padding when counted from the oldest)."""
        if self.position is None:
            return e
        if self.config.position_origin == "newest":
            return e + right_aligned(self.position, e.shape[1])
        lead = (~valid).sum(dim=1, keepdim=True)  # (B, 1) leading padding
        index = (torch.arange(e.shape[1], device=e.device) - lead).clamp(0, self.max_len - 1)  # (B, W)
        return e + self.position[index] * valid.unsqueeze(-1)

    def encode(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D) E_u, (B, W)
        return self.extractor(self.keys(e, valid), e, valid)  # (B, K, D) V_u

    def encode_prefixes(self, input_ids: Tensor) -> Tensor:
        e, valid = self.embed(input_ids)  # (B, W, D), (B, W)
        return self.extractor.forward_prefixes(self.keys(e, valid), e, valid)  # (B, W, K, D)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, add_positions={self.add_positions}, "
                f"position_origin={self.config.position_origin!r}, recipe={self.config.recipe!r}")


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
