"""The training interactions that graphs may be built from (no held-out item leaks in).

Global graphs (category co-occurrence, item transitions) are statistics over
users' sequences. Built from the full sequences they would contain the very
transitions the evaluation asks a model to predict, so every graph builder in
:mod:`graphrec.graph` first reduces its input to the *training* part:

* ``protocol="loo"`` (leave-one-out, the default): users with at least 3 items
  keep ``s[:-2]`` (``s[-2]`` is the validation target, ``s[-1]`` the test
  target); shorter users hold nothing out and keep ``s`` — exactly the rows
  :class:`graphrec.data.loo.LeaveOneOutSplit` trains on;
* ``protocol="user"`` (user split): given a :class:`graphrec.data.user_split.UserSplit`,
  the training users' whole sequences plus the valid/test users' *history* parts
  (what a model is shown at evaluation), never their targets; given a dataset,
  only the training users' sequences (``train_users`` or the dataset's
  ``user_split == 0``);
* ``protocol="all"``: every interaction (for analysis of a whole log only).

The result is a :class:`TrainingCSR`, a plain CSR pair that also records which
split it came from (``protocol`` and ``split_fingerprint``, written next to saved
graphs and attached to every graph built from it), so that a graph can be checked
against the split a model is evaluated on (:func:`split_fingerprint`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphrec.data.csr import csr_slices
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit, loo_train_ends
from graphrec.data.user_split import UserSplit

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
        split_fingerprint: :func:`split_fingerprint` of that split (``""`` if unknown).
    """

    indptr: np.ndarray
    items: np.ndarray
    num_items: int
    item_category: np.ndarray
    category_names: list[str] | None = None
    protocol: str = "loo"
    split_fingerprint: str = ""

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


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def split_fingerprint(split: LeaveOneOutSplit | UserSplit) -> str:
    """A short hash naming which interactions of which data a split trains on.

    Leave-one-out: the dataset's checksum (the hold-out rule is fixed). User split:
    the checksum, every user's group and the history fraction. Two splits with the
    same fingerprint hold out the same interactions.
    """
    if isinstance(split, UserSplit):
        return _digest("user", split.dataset.checksum(), split.groups.astype(np.int8),
                       float(split.history_fraction))
    if isinstance(split, LeaveOneOutSplit):
        return _digest("loo", split.dataset.checksum())
    raise TypeError(f"no fingerprint for {type(split).__name__}; expected a LeaveOneOutSplit or UserSplit")


def training_csr(
    source: SequenceDataset | LeaveOneOutSplit | UserSplit | TrainingCSR,
    protocol: str = "loo",
    train_users: np.ndarray | None = None,
) -> TrainingCSR:
    """Reduce a dataset (or a split) to the interactions a model may train on.

    Args:
        source: a :class:`SequenceDataset`, a :class:`LeaveOneOutSplit` (its
            dataset is used with ``protocol="loo"``), a :class:`UserSplit` (training
            users' sequences plus held-out users' histories, ``protocol="user"``) or
            an existing :class:`TrainingCSR` (returned unchanged).
        protocol: ``"loo"``, ``"user"`` or ``"all"`` (see the module docstring).
        train_users: with ``protocol="user"``, the training user ids; defaults to
            the users with ``dataset.user_split == 0``.

    Returns:
        A :class:`TrainingCSR`.
    """
    if isinstance(source, TrainingCSR):
        return source
    if isinstance(source, UserSplit):
        return _user_split_csr(source)
    fingerprint = ""
    if isinstance(source, LeaveOneOutSplit):
        fingerprint = split_fingerprint(source)
        source, protocol = source.dataset, "loo"
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {list(PROTOCOLS)}")
    indptr, items = source.indptr, source.items
    starts, ends = indptr[:-1], indptr[1:]
    if protocol == "loo":
        indptr, items = csr_slices(items, starts, loo_train_ends(indptr))
    elif protocol == "user":
        if train_users is None:
            if source.user_split is None:
                raise ValueError(
                    "protocol='user' needs train_users or a dataset with a user_split (0 = train)"
                )
            train_users = np.nonzero(source.user_split == 0)[0]
        users = np.sort(np.asarray(train_users, dtype=np.int64))
        indptr, items = csr_slices(items, starts[users], ends[users])
        fingerprint = _digest("user-train-users", source.checksum(), users)
    elif protocol == "loo":
        fingerprint = fingerprint or _digest("loo", source.checksum())
    else:
        fingerprint = _digest("all", source.checksum())
    return _result(source, indptr, items, protocol, fingerprint)


def _user_split_csr(split: UserSplit) -> TrainingCSR:
    """Training users' whole sequences, then valid and test users' histories (no targets)."""
    data = split.dataset
    train = np.nonzero(split.groups == 0)[0]
    starts = np.concatenate([data.indptr[train], split.valid.history_start, split.test.history_start])
    ends = np.concatenate([data.indptr[train + 1], split.valid.history_end, split.test.history_end])
    indptr, items = csr_slices(data.items, starts, ends)
    return _result(data, indptr, items, "user", split_fingerprint(split))


def _result(source: SequenceDataset, indptr: np.ndarray, items: np.ndarray, protocol: str,
            fingerprint: str) -> TrainingCSR:
    item_category = source.item_category
    if item_category is None:
        item_category = np.zeros(source.num_items + 1, dtype=np.int64)
    return TrainingCSR(
        indptr=np.asarray(indptr, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        num_items=source.num_items,
        item_category=item_category,
        category_names=source.category_names,
        protocol=protocol,
        split_fingerprint=fingerprint,
    )
