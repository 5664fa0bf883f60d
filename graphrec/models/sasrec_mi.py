"""SASRec-MI: SASRec's causal transformer with ``K`` interests read out of every prefix.

graphrec's multi-interest model on a strong sequence encoder. The transformer states
:math:`F_{1..t}` of SASRec (same embedding, same blocks, same tied item table) are pooled by
``K`` self-attentive heads (ComiRec-SA's extractor over the states instead of the raw item
vectors), and each head's pooled vector is added to the newest state:

.. math::
    a_{k,s} = w_{2,k}^\\top \\tanh(W_1 F_s + b_1) + b_{2,k}, \\qquad
    v_{t,k} = F_t + \\sum_{s \\le t} \\frac{\\exp a_{k,s}}{\\sum_{r \\le t} \\exp a_{k,r}} F_s

so each interest is SASRec's user vector moved toward the part of the history its head
attends to. The heads see only states at or before ``t`` (a causal mask), so one pass gives
every prefix's ``K`` interests (:meth:`~graphrec.nn.multi_interest.SelfAttentiveExtractor.forward_prefixes`).

**Training** is dense, as SASRec's: every position of every training window, its target
scored against the whole catalogue (full softmax) through the interest that scores it best
(label-aware, no gradient through the argmax, as ComiRec and MIND train):

.. math::
    \\mathcal{L} = -\\frac{1}{P} \\sum_t \\log
    \\frac{\\exp(v_t^\\top e_{y_t})}{\\sum_{j=1}^N \\exp(v_t^\\top e_j)},
    \\qquad v_t = v_{t, \\arg\\max_k v_{t,k}^\\top e_{y_t}}

**Serving** uses the newest position's ``K`` interests; under the user split each retrieves
its own top-N and the lists are merged by score, as for every multi-interest model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.losses import next_item_loss
from graphrec.models.config import ModelConfig
from graphrec.models.sasrec import SASRec, SASRecConfig
from graphrec.nn.embedding import leading_padding, trim_left_padding
from graphrec.nn.multi_interest import SelfAttentiveExtractor, best_interest


@dataclass(frozen=True)
class SASRecMIConfig(SASRecConfig):
    """SASRec's options and the interests'.

    Attributes:
        num_interests: ``K``, the self-attentive heads.
    """

    num_interests: int = 4

    def validate(self) -> None:
        super().validate()
        if self.loss != "ce" or self.recipe != "dense":
            raise ValueError("SASRec-MI trains every position against the whole catalogue: "
                             "model.loss must be 'ce' and model.recipe 'dense'")


class SASRecMI(SASRec):
    """SASRec with ``K`` interests per user (see the module docstring).

    Args:
        num_items: ``N``.
        config: :class:`SASRecMIConfig` (or its fields as keywords).

    Shapes:
        ``interests``: ``(B, K, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    supports_packing = False
    Config: ClassVar[type[ModelConfig]] = SASRecMIConfig
    config: SASRecMIConfig

    def __init__(self, num_items: int, config: SASRecMIConfig | None = None, **options: Any) -> None:
        config = self.make_config(config, options)
        super().__init__(num_items, config)
        self.supports_packing = False
        self.heads = SelfAttentiveExtractor(config.hidden_size, config.num_interests)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.heads.reset_parameters()

    def prefix_interests(self, input_ids: Tensor) -> Tensor:
        """``(B, W)`` left-padded ids -> ``(B, W, K, D)`` the interests of every prefix."""
        states = self.encode(input_ids)  # (B, W, D)
        pooled = self.heads.forward_prefixes(states, states, input_ids > 0)  # (B, W, K, D)
        return states.unsqueeze(2) + pooled

    def interests(self, batch: SeqBatch) -> Tensor:
        (input_ids,) = trim_left_padding(batch.input_ids)
        states = self.encode(input_ids)  # (B, W, D)
        pooled = self.heads(states, states, input_ids > 0)  # (B, K, D): the newest prefix is the whole row
        return states[:, -1:] + pooled

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("SASRecMI.loss_terms needs a training batch with target_ids")
        start = leading_padding(batch.input_ids)  # all-padding columns cost nothing when dropped
        input_ids, target_ids = batch.input_ids[:, start:], batch.target_ids[:, start:]
        interests = self.prefix_interests(input_ids)  # (B, W, K, D)
        table = self.item_embeddings()
        return {"rec": next_item_loss(best_interest(interests, table, target_ids), target_ids, table)}

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_interests={self.config.num_interests}"


__all__ = ["SASRecMI", "SASRecMIConfig"]
