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

What a method needs beyond that comes through three doors, never through a
model-specific trainer:

* **the model context** (:class:`graphrec.models.context.ModelContext`), handed to
  :meth:`SequentialRecommender.from_context` at build time: item counts, item →
  category, attributes, and graphs built from the split's training part only;
* **lifecycle hooks** (:mod:`graphrec.models.hooks`): ``on_fit_start``,
  ``on_epoch_start``, ``on_step_end``, ``on_epoch_end``, whose state lives in the
  model's ``state_dict`` so that ``--resume`` stays exact;
* **the batch step** :meth:`SequentialRecommender.training_batch`, which turns the
  loader's batch into what the model trains on (augmented views, masked positions,
  one target per row), seeded per ``(seed, epoch, step)``.

Each loss term declares what it averages over (:attr:`SequentialRecommender.loss_units`),
so that a data-parallel run scales it exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.models.config import ModelConfig
from graphrec.models.hooks import TrainState

if TYPE_CHECKING:
    from graphrec.models.context import ModelContext

#: what a loss term can average over; :meth:`SequentialRecommender.loss_counts` counts each
LOSS_UNITS = ("positions", "rows")


class SequentialRecommender(nn.Module, ABC):
    """Base class: holds ``num_items``, the model's options and the shared scoring code.

    Args:
        num_items: number of real items ``N`` (ids ``1..N``, 0 = padding).
        config: the model's options (an instance of its :attr:`Config`; default: the defaults).
        **options: fields of :attr:`Config` replacing those of ``config`` (checked, coerced).
    """

    #: whether the trainer should run gradient steps (False for e.g. POP)
    trainable: bool = True
    #: whether ``loss_terms`` accepts packed batches (``segment_ids``/``position_ids``,
    #: :mod:`graphrec.data.packing`); the trainer packs only such models
    supports_packing: bool = False
    #: term name -> what it is a mean over (``"positions"``: target positions
    #: ``target_ids > 0``; ``"rows"``: rows of the training batch; or a unit the model
    #: counts in :meth:`loss_counts`). Terms not listed average over positions when the
    #: batch has ``target_ids`` and over rows otherwise.
    loss_units: ClassVar[Mapping[str, str]] = {}
    #: the model's options (a frozen dataclass extending its family's base, :mod:`graphrec.models.config`)
    Config: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, num_items: int, config: ModelConfig | None = None, **options: Any) -> None:
        super().__init__()
        self.num_items = int(num_items)
        #: the model's options, checked (a frozen instance of :attr:`Config`)
        self.config: Any = self.make_config(config, options)

    @abstractmethod
    def interests(self, batch: SeqBatch) -> Tensor:
        """``(B, K, D)`` interest vectors of each sequence in the batch."""

    @abstractmethod
    def item_embeddings(self) -> Tensor:
        """``(N + 1, D)`` item vectors used for scoring (row 0 = padding)."""

    @abstractmethod
    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        """Named scalar loss terms for one training batch."""

    def terms(self) -> tuple[str, ...]:
        """The names of the terms :meth:`loss_terms` returns in this configuration (default ``("rec",)``)."""
        return ("rec",)

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

    # ---------------------------------------------------------------- training doors
    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """Turn the loader's (CPU) batch into what the model trains on; identity by default.

        Called on every *global* batch before it is cut across DDP ranks, with a CPU
        ``generator`` seeded by ``(seed, epoch, step)``: draw all randomness from it and
        keep every tensor row-aligned (first dimension = rows; extra tensors go in
        ``batch.extras``) so that single-process, DDP and resumed runs see the same rows.
        Helpers: :mod:`graphrec.data.augment`.
        """
        return batch

    def loss_counts(self, batch: SeqBatch) -> dict[str, float]:
        """How many units of each kind the (local) batch holds, for DDP loss scaling.

        Default: ``positions`` (target positions, or rows without ``target_ids``) and
        ``rows``. A model whose term averages over something else (pairs, selected
        samples) adds that unit here and names it in :attr:`loss_units`.
        """
        rows = float(batch.batch_size)
        positions = rows if batch.target_ids is None else float((batch.target_ids > 0).sum())
        return {"positions": positions, "rows": rows}

    def loss_unit(self, term: str, batch: SeqBatch) -> str:
        """The unit ``term`` averages over (see :attr:`loss_units`)."""
        default = "positions" if batch.target_ids is not None else "rows"
        return self.loss_units.get(term, default)

    def on_fit_start(self, state: TrainState) -> None:
        """Before the first epoch of ``fit`` (and before a checkpoint is restored)."""

    def on_epoch_start(self, state: TrainState) -> None:
        """At the start of every epoch; ``state.iter_train_sequences()`` walks all training rows."""

    def on_step_end(self, state: TrainState) -> None:
        """After every optimizer step (e.g. an exponential moving average of a teacher)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After an epoch's last step, before validation and before ``last.pt`` is written."""

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}"

    @classmethod
    def config_keys(cls) -> list[str]:
        """The model's option names: the fields of its :attr:`Config`."""
        return cls.Config.keys()

    @classmethod
    def make_config(cls, config: ModelConfig | None, options: Mapping[str, Any]) -> Any:
        """A constructor's config: ``config`` (default: the defaults) with ``options`` replacing fields.

        So ``SASRec(n, hidden_size=8)`` and ``SASRec(n, SASRecConfig(hidden_size=8))`` build the same model.
        """
        if config is not None and not isinstance(config, cls.Config):
            raise TypeError(f"{cls.__name__} takes a {cls.Config.__name__}, got {type(config).__name__}")
        return cls.Config.from_options(options, cls.__name__, base=config)

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """Build the model for a dataset split; ``options`` are the fields of :attr:`Config`.

        The default passes ``ctx.num_items`` only. A model that needs more from the data
        (training item counts, item → category, a category graph, the window length)
        overrides this and takes it from ``ctx``, e.g.::

            @classmethod
            def from_context(cls, ctx, **options):
                ctx.window_options(options)  # max_len from the split
                return cls(ctx.num_items, item_counts=ctx.item_counts, **options)
        """
        return cls.from_config(ctx.num_items, **options)

    @classmethod
    def from_config(cls, num_items: int, **config: Any) -> SequentialRecommender:
        """Construct from a config dict; unknown keys raise listing the valid ones."""
        return cls(num_items, cls.make_config(None, config))  # type: ignore[call-arg]  # (num_items, config)
