"""The model context: what a model may know about the data when it is built.

:meth:`SequentialRecommender.from_context(ctx, **options)
<graphrec.models.base.SequentialRecommender.from_context>` receives one
:class:`ModelContext` built from the protocol's split. Everything it exposes comes
from the split's *training part* only — training item counts, graphs — so a
model cannot see a held-out target by construction:

* leave-one-out: ``s[:-2]`` of every evaluated user (all of ``s`` for shorter users);
* user split: the training users' sequences plus the valid/test users' history
  parts (the inputs a model is shown at evaluation), never their targets.

Graphs are built on first use and cached; each records the
:func:`~graphrec.graph.training.split_fingerprint` of the split it came from
(``graph.split_fingerprint``), and :meth:`ModelContext.check_graph` refuses a graph
built from another split (e.g. one loaded from disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.user_sampler import UserCutSampler
from graphrec.data.user_split import UserSplit
from graphrec.graph.training import TrainingCSR, split_fingerprint, training_csr

if TYPE_CHECKING:
    from torch_geometric.data import Data


@dataclass
class ModelContext:
    """Facts about the data a model is built for (see the module docstring).

    Attributes:
        split: the protocol's split (:class:`LeaveOneOutSplit` or :class:`UserSplit`).
        max_len: the input window length ``L`` of the split's batches.
        device: where the model will train.
    """

    split: LeaveOneOutSplit | UserSplit
    max_len: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_split(cls, split: LeaveOneOutSplit | UserSplit, device: torch.device | str = "cpu"
                   ) -> ModelContext:
        return cls(split=split, max_len=int(split.max_len), device=torch.device(device))

    # ------------------------------------------------------------------ facts
    @property
    def num_items(self) -> int:
        """``N``: item ids are ``1..N``, 0 is padding."""
        return int(self.split.num_items)

    @property
    def protocol(self) -> str:
        """``"loo"`` or ``"user"``."""
        return "user" if isinstance(self.split, UserSplit) else "loo"

    @property
    def fingerprint(self) -> str:
        """:func:`~graphrec.graph.training.split_fingerprint` of the split."""
        return self._cached("fingerprint", lambda: split_fingerprint(self.split))  # type: ignore[no-any-return]

    @property
    def item_counts(self) -> np.ndarray:
        """``(N + 1,)`` int64 training interactions per item (entry 0 = padding = 0)."""
        return self._cached("item_counts", lambda: np.asarray(self.split.train_item_counts(), dtype=np.int64))  # type: ignore[no-any-return]

    @property
    def item_category(self) -> np.ndarray:
        """``(N + 1,)`` int64 category of every item (0 = unknown / padding)."""
        category = self.split.dataset.item_category
        return np.zeros(self.num_items + 1, dtype=np.int64) if category is None else category

    @property
    def num_categories(self) -> int:
        """``C``: categories are ``1..C`` (0 = unknown)."""
        return int(self.item_category.max(initial=0))

    @property
    def item_attributes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Multi-valued attributes as CSR ``(indptr (N + 2,), values)``, or ``None``."""
        data = self.split.dataset
        if data.attr_indptr is None or data.attr_values is None:
            return None
        return data.attr_indptr, data.attr_values

    def window_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` with ``max_len`` defaulting to the split's window length ``L``.

        Raises:
            ValueError: when ``options`` set a ``max_len`` shorter than ``L`` (the model's
                position table could not hold the split's inputs).
        """
        given = int(options.setdefault("max_len", self.max_len))
        if given < self.max_len:
            raise ValueError(f"model.max_len = {given} is shorter than the input windows "
                             f"(train.max_len = {self.max_len}); set one value for both")
        return options

    # ----------------------------------------------------------------- graphs
    def training_sequences(self) -> TrainingCSR:
        """The interactions graphs may be built from (:func:`~graphrec.graph.training.training_csr`)."""
        return self._cached("training", lambda: training_csr(self.split))  # type: ignore[no-any-return]

    def training_users(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, items, user_ids)``: the training users' own training sequences, nothing held out.

        Leave-one-out: every user without the last two items; user split: the training
        users' whole sequences (the held-out users' histories are left out).
        """
        csr = self.training_sequences()
        if not isinstance(self.split, UserSplit):
            return csr.indptr, csr.items, np.arange(csr.num_rows)
        users = np.nonzero(self.split.groups == 0)[0]  # their rows come first (training_csr)
        end = int(csr.indptr[len(users)])
        return csr.indptr[: len(users) + 1], csr.items[:end], users

    def user_cut_sampler(self, max_len: int) -> UserCutSampler:
        """ComiRec's training sampler over :meth:`training_users` (``recipe="comirec"``)."""
        indptr, items, users = self.training_users()
        return UserCutSampler(indptr, items, max_len, user_ids=users)

    def category_graph(self, window: int = 1) -> Data:
        """Category co-occurrence counts :math:`a_{ij}` (:func:`graphrec.graph.category.category_graph`)."""
        from graphrec.graph.category import category_graph

        return self._cached(f"category_graph/{window}",  # type: ignore[no-any-return]
                            lambda: category_graph(self.training_sequences(), window=window))

    def normalized_category_graph(self, window: int = 1) -> Data:
        """The category graph with HPCL4SR Eq. 1 weights.

        See :func:`graphrec.graph.normalize.normalized_category_graph`.
        """
        from graphrec.graph.normalize import normalized_category_graph

        return self._cached(f"normalized_category_graph/{window}",  # type: ignore[no-any-return]
                            lambda: normalized_category_graph(self.category_graph(window)))

    def transition_graph(self, normalize: str = "none", self_loops: bool = True) -> Data:
        """Directed item → next-item graph (:func:`graphrec.graph.transition.item_transition_graph`)."""
        from graphrec.graph.transition import item_transition_graph

        return self._cached(f"transition_graph/{normalize}/{self_loops}",  # type: ignore[no-any-return]
                            lambda: item_transition_graph(self.training_sequences(), normalize, self_loops))

    def check_graph(self, graph: Data) -> Data:
        """``graph`` if it was built from this split, else ``ValueError``."""
        found = getattr(graph, "split_fingerprint", None)
        if found != self.fingerprint:
            raise ValueError(
                f"graph was built from split {found!r}, but the model is trained on split "
                f"{self.fingerprint!r} ({self.protocol}); rebuild the graph from this split's training part"
            )
        return graph

    def _cached(self, key: str, build: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]


__all__ = ["ModelContext"]
