"""The model contract shared by every recommender in graphrec.

A model is an ``nn.Module`` that implements

* ``interests(batch) -> Tensor[B, K, D]`` — the user's interest vectors
  (single-interest models return ``K = 1``);
* ``loss_terms(batch) -> dict[str, Tensor]`` — named scalar training terms; the
  trainer weights them (``loss_weights`` in the config), sums and logs them;
* ``item_embeddings() -> Tensor[N + 1, D]`` — the item table that interests are
  scored against (row 0 = padding).

Scoring is shared: ``score_all`` computes :math:`s_{u,i} = \\max_k \\langle q_{u,k}, e_i \\rangle`
over all items, so a model only describes how it encodes a user and what it is
trained on. Constructors take plain ints/floats (never a dataset object).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch


class SequentialRecommender(nn.Module, ABC):
    """Base class: holds ``num_items`` and the shared scoring code.

    Args:
        num_items: number of real items ``N`` (ids ``1..N``, 0 = padding).
    """

    #: whether the trainer should run gradient steps (False for e.g. POP)
    trainable: bool = True
    #: whether ``loss_terms`` accepts packed batches (``segment_ids``/``position_ids``,
    #: :mod:`graphrec.data.packing`); the trainer packs only such models
    supports_packing: bool = False

    def __init__(self, num_items: int) -> None:
        super().__init__()
        self.num_items = int(num_items)

    @abstractmethod
    def interests(self, batch: SeqBatch) -> Tensor:
        """``(B, K, D)`` interest vectors of each sequence in the batch."""

    @abstractmethod
    def item_embeddings(self) -> Tensor:
        """``(N + 1, D)`` item vectors used for scoring (row 0 = padding)."""

    @abstractmethod
    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        """Named scalar loss terms for one training batch."""

    def score_all(self, batch: SeqBatch) -> Tensor:
        """``(B, N + 1)`` scores of every item: ``max_k <interest_k, item>``.

        Column 0 (padding) is set to ``-inf`` so that it never ranks.
        """
        interests = self.interests(batch)  # (B, K, D)
        items = self.item_embeddings()  # (N + 1, D)
        if interests.shape[1] == 1:
            scores = interests[:, 0] @ items.T  # (B, N + 1)
        else:
            scores = torch.einsum("bkd,nd->bkn", interests, items).amax(dim=1)  # (B, N + 1)
        scores[:, 0] = float("-inf")
        return scores

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}"

    @classmethod
    def config_keys(cls) -> list[str]:
        """The keyword arguments the constructor accepts (for config validation)."""
        import inspect

        params = inspect.signature(cls.__init__).parameters
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return [n for n, p in params.items() if n != "self" and p.kind in kinds]

    @classmethod
    def from_config(cls, num_items: int, **config: Any) -> SequentialRecommender:
        """Construct from a config dict; unknown keys raise listing the valid ones."""
        valid = [k for k in cls.config_keys() if k != "num_items"]
        unknown = sorted(set(config) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for model {cls.__name__}; valid options: {sorted(valid)}"
            )
        return cls(num_items=num_items, **config)
