"""The training interactions that graphs may be built from (no held-out item leaks in).

Global graphs (category co-occurrence, item transitions) are statistics over
users' sequences. Built from the full sequences they would contain the very
transitions the evaluation asks a model to predict, so every graph builder in
:mod:`graphrec.graph` first reduces its input to the *training* part:

* ``protocol="loo"`` (leave-one-out, the default): users with at least 3 items
  keep ``s[:-2]`` (``s[-2]`` is the validation target, ``s[-1]`` the test
  target); shorter users hold nothing out and keep ``s`` — exactly the rows
  :class:`graphrec.data.loo.LeaveOneOutSplit` trains on;
* ``protocol="user"`` (user split): only the sequences of the training users
  (``train_users`` or the dataset's ``user_split == 0``) are kept, in full;
* ``protocol="all"``: every interaction (for analysis of a whole log only).

The result is a :class:`TrainingCSR`, a plain CSR pair that also records which
split it came from (written next to saved graphs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphrec.data.csr import csr_slices
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit

PROTOCOLS = ("loo", "user", "all")


@dataclass(frozen=True)
class TrainingCSR:
    """Training sequences in CSR form plus the item -> category table.

    Attributes:
        indptr: ``(R + 1,)`` int64 offsets.
        items: ``(nnz,)`` int64 item ids ``1..N``, time-ordered per row.
        num_items: ``N``.
        item_category: ``(N + 1,)`` int64, ``0`` = unknown.
        category_names: ``category_names[c - 1]`` names category ``c`` (or ``None``).
        protocol: which split the rows come from (``"loo"``, ``"user"``, ``"all"``).
    """

    indptr: np.ndarray
    items: np.ndarray
    num_items: int
    item_category: np.ndarray
    category_names: list[str] | None = None
    protocol: str = "loo"

    @property
    def num_rows(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_categories(self) -> int:
        return int(self.item_category.max(initial=0))

    @property
    def row_of(self) -> np.ndarray:
        """``(nnz,)`` the row every interaction belongs to."""
        return np.repeat(np.arange(self.num_rows, dtype=np.int64), np.diff(self.indptr))


def training_csr(
    source: SequenceDataset | LeaveOneOutSplit | TrainingCSR,
    protocol: str = "loo",
    train_users: np.ndarray | None = None,
) -> TrainingCSR:
    """Reduce a dataset (or a split) to the interactions a model may train on.

    Args:
        source: a :class:`SequenceDataset`, a :class:`LeaveOneOutSplit` (its
            dataset is used with ``protocol="loo"``) or an existing
            :class:`TrainingCSR` (returned unchanged).
        protocol: ``"loo"``, ``"user"`` or ``"all"`` (see the module docstring).
        train_users: with ``protocol="user"``, the training user ids; defaults to
            the users with ``dataset.user_split == 0``.

    Returns:
        A :class:`TrainingCSR`.
    """
    if isinstance(source, TrainingCSR):
        return source
    if isinstance(source, LeaveOneOutSplit):
        source, protocol = source.dataset, "loo"
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {list(PROTOCOLS)}")
    indptr, items = source.indptr, source.items
    starts, ends = indptr[:-1], indptr[1:]
    if protocol == "loo":
        lengths = ends - starts
        ends = np.where(lengths >= 3, ends - 2, ends)
        indptr, items = csr_slices(items, starts, ends)
    elif protocol == "user":
        if train_users is None:
            if source.user_split is None:
                raise ValueError(
                    "protocol='user' needs train_users or a dataset with a user_split (0 = train)"
                )
            train_users = np.nonzero(source.user_split == 0)[0]
        users = np.sort(np.asarray(train_users, dtype=np.int64))
        indptr, items = csr_slices(items, starts[users], ends[users])
    assert source.item_category is not None
    return TrainingCSR(
        indptr=np.asarray(indptr, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        num_items=source.num_items,
        item_category=source.item_category,
        category_names=source.category_names,
        protocol=protocol,
    )
