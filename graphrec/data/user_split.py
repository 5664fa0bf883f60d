"""User split (ComiRec / REMI / HPCL4SR / DSIE protocol) as pre-padded arrays.

Users, not interactions, are held out (Cen et al., *Controllable Multi-Interest
Framework for Recommendation*, KDD 2020, §4.1):

* users are shuffled with a fixed seed and cut into train / valid / test groups
  in the ratio ``8:1:1`` (cut points ``floor(0.8 U)`` and ``floor(0.9 U)`` of the
  shuffled order, as in ComiRec's ``preprocess/data.py``); when the dataset ships
  its own ``user_split`` (0 train, 1 valid, 2 test) that one is used instead and
  :attr:`UserSplit.split_source` says so;
* a valid/test user with sequence ``s`` of length ``n`` is split at
  ``h = clip(floor(n * history_fraction), 1, n - 1)``: the history ``s[:h]``
  (its last ``max_len`` items, left-padded, are the model input) and the targets
  ``s[h:]`` (at least one item). With the default fraction 0.8 a length-10
  sequence gives 8 history items and 2 targets — ComiRec's
  ``int(len(item_list) * 0.8)``. Repeated target items are kept once (the
  targets are a set; order of first occurrence). Users with fewer than 2
  interactions cannot be split and are skipped and counted;
* training uses the *whole* sequences of the train users. Sequences in the
  user-split datasets are long (hundreds of items), so each one is cut, from its
  newest end backwards, into windows of ``max_len + 1`` consecutive items that
  overlap by one item (stride ``max_len``): each window is one training row whose
  ``max_len`` positions each predict their next item. Every transition
  ``s[t] -> s[t + 1]`` of a training user is thus trained on exactly once and no
  interaction is wasted; the oldest window is shorter and left-padded. The
  context of a position is limited to its own window. ``max_windows`` keeps only
  each user's newest windows.

All arrays are built once with vectorised numpy indexing so that a batch is a
row slice; :meth:`UserSplit.train_batch` is the leave-one-out split's
(:class:`~graphrec.data.padded.PaddedTrainRows`), so one trainer trains on either protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.csr import slice_positions
from graphrec.data.dataset import SequenceDataset
from graphrec.data.padded import PaddedTrainRows, left_padded_windows

_GROUPS = ("train", "valid", "test")


@dataclass
class UserEvalBatch(SeqBatch):
    """A :class:`SeqBatch` of held-out users plus their target sets in CSR form.

    Attributes:
        target_indptr: ``(B + 1,)`` offsets into ``target_items``.
        target_items: ``(T,)`` the distinct target items of every row, row ``r``'s
            being ``target_items[target_indptr[r]:target_indptr[r + 1]]``.
    """

    target_indptr: Tensor | None = None
    target_items: Tensor | None = None


@dataclass
class UserEvalSet:
    """The evaluation arrays of one held-out user group (valid or test).

    Attributes:
        users: ``(R,)`` user ids (users with at least 2 interactions).
        inputs: ``(R, L)`` the last ``L`` history items, left-padded with 0.
        history_start / history_end: ``(R,)`` offsets into ``dataset.items``: the
            history is ``items[history_start:history_end]``, the targets follow it.
        target_indptr: ``(R + 1,)``; target_items: ``(T,)`` distinct targets per row.
        num_skipped: users of the group with fewer than 2 interactions (not evaluated).
    """

    users: np.ndarray
    inputs: np.ndarray
    history_start: np.ndarray
    history_end: np.ndarray
    target_indptr: np.ndarray
    target_items: np.ndarray
    num_skipped: int

    @property
    def num_rows(self) -> int:
        return len(self.users)


def ragged_positions(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions ``starts[r] .. ends[r] - 1`` of every row, without a Python loop.

    Args:
        starts / ends: ``(R,)`` offsets, ``ends >= starts``.

    Returns:
        ``(rows, positions)``, both ``(sum(ends - starts),)``: the row of each
        position and the position itself, rows in order.
    """
    indptr, positions = slice_positions(starts, ends)
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    return rows, positions


def _assign_groups(
    dataset: SequenceDataset, seed: int, ratios: tuple[float, float, float]
) -> tuple[np.ndarray, str]:
    """``(U,)`` int8 group per user (0 train, 1 valid, 2 test) and where it came from."""
    if dataset.user_split is not None:
        groups = np.asarray(dataset.user_split, dtype=np.int8)
        bad = np.nonzero((groups < 0) | (groups > 2))[0]
        if len(bad):
            raise ValueError(
                f"dataset user_split must hold 0 (train), 1 (valid) or 2 (test); user {int(bad[0])} "
                f"has {int(groups[bad[0]])}"
            )
        return groups, "dataset"
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"ratios must be three non-negative fractions summing to 1, got {ratios}")
    num_users = dataset.num_users
    order = np.random.default_rng(seed).permutation(num_users)
    cut1 = int(num_users * ratios[0])
    cut2 = min(int(num_users * (ratios[0] + ratios[1])), num_users)
    groups = np.empty(num_users, dtype=np.int8)
    groups[order[:cut1]] = 0
    groups[order[cut1:cut2]] = 1
    groups[order[cut2:]] = 2
    return groups, "seeded"


@dataclass
class UserSplit(PaddedTrainRows):
    """Pre-padded user-split arrays for one dataset (see the module docstring).

    Attributes:
        groups: ``(U,)`` int8 group of every user (0 train, 1 valid, 2 test).
        split_source: ``"seeded"`` (shuffled with ``seed``) or ``"dataset"`` (the
            dataset's own ``user_split``).
        train_users: ``(R_train,)`` the user of every training row (a user with a
            long sequence owns several rows).
        train_inputs / train_targets: ``(R_train, L)``; ``train_targets[r, t]`` is the
            item after ``train_inputs[r, t]`` (0 at padding).
        valid / test: the held-out groups' arrays.
        num_skipped_train: train users with fewer than 2 interactions (no training pair).
    """

    dataset: SequenceDataset
    max_len: int
    seed: int
    ratios: tuple[float, float, float]
    history_fraction: float
    max_windows: int | None
    groups: np.ndarray
    split_source: str
    train_users: np.ndarray
    train_inputs: np.ndarray
    train_targets: np.ndarray
    num_skipped_train: int
    valid: UserEvalSet
    test: UserEvalSet

    @property
    def num_items(self) -> int:
        return self.dataset.num_items

    def num_eval_rows(self, which: str) -> int:
        """Number of evaluated users in ``which`` ("valid" or "test")."""
        return self.eval_set(which).num_rows

    def eval_set(self, which: str) -> UserEvalSet:
        if which == "valid":
            return self.valid
        if which == "test":
            return self.test
        raise ValueError(f"which must be 'valid' or 'test', got {which!r}")

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        dataset: SequenceDataset,
        max_len: int = 50,
        seed: int = 2024,
        ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
        history_fraction: float = 0.8,
        max_windows: int | None = None,
    ) -> UserSplit:
        """Split ``dataset`` by users.

        Args:
            dataset: the canonical dataset.
            max_len: model input length ``L``.
            seed: seed of the user shuffle (ignored when the dataset has ``user_split``).
            ratios: train / valid / test fractions of users.
            history_fraction: fraction of a held-out sequence used as history.
            max_windows: keep at most this many (newest) training windows per user;
                ``None`` keeps all.
        """
        if max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        if not 0.0 < history_fraction < 1.0:
            raise ValueError(f"history_fraction must lie in (0, 1), got {history_fraction}")
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be >= 1 or None, got {max_windows}")
        ratios = tuple(float(r) for r in ratios)  # type: ignore[assignment]
        groups, source = _assign_groups(dataset, seed, ratios)
        indptr, items = dataset.indptr, dataset.items
        lengths = np.diff(indptr)

        # ---- training rows: windows of L + 1 items with stride L, newest first
        train_all = np.nonzero(groups == 0)[0]
        train_ok = train_all[lengths[train_all] >= 2]
        num_windows = (lengths[train_ok] - 1 + max_len - 1) // max_len  # ceil((n - 1) / L)
        if max_windows is not None:
            num_windows = np.minimum(num_windows, max_windows)
        row_user = np.repeat(train_ok, num_windows)
        first_row = np.concatenate([[0], np.cumsum(num_windows)])[:-1]
        window = np.arange(len(row_user)) - np.repeat(first_row, num_windows)  # 0 = newest
        start = indptr[row_user]
        input_end = indptr[row_user + 1] - 1 - window * max_len
        train_inputs = left_padded_windows(items, input_end, start, max_len)
        train_targets = left_padded_windows(items, input_end + 1, start + 1, max_len)

        return cls(
            dataset=dataset,
            max_len=max_len,
            seed=seed,
            ratios=ratios,
            history_fraction=history_fraction,
            max_windows=max_windows,
            groups=groups,
            split_source=source,
            train_users=row_user,
            train_inputs=train_inputs,
            train_targets=train_targets,
            num_skipped_train=int(len(train_all) - len(train_ok)),
            valid=cls._eval_set(dataset, np.nonzero(groups == 1)[0], max_len, history_fraction),
            test=cls._eval_set(dataset, np.nonzero(groups == 2)[0], max_len, history_fraction),
        )

    @staticmethod
    def _eval_set(
        dataset: SequenceDataset, group: np.ndarray, max_len: int, history_fraction: float
    ) -> UserEvalSet:
        indptr, items = dataset.indptr, dataset.items
        lengths = np.diff(indptr)
        users = group[lengths[group] >= 2]
        n = lengths[users]
        # ComiRec: k = int(len * 0.8); kept inside [1, n - 1] so both parts are non-empty
        cut = np.clip(np.floor(n * history_fraction).astype(np.int64), 1, n - 1)
        start = indptr[users]
        hist_end = start + cut
        rows, positions = ragged_positions(hist_end, indptr[users + 1])
        # distinct targets per row, in order of first occurrence
        keys = rows * (dataset.num_items + 1) + items[positions]
        _, first = np.unique(keys, return_index=True)
        keep = np.sort(first)
        counts = np.bincount(rows[keep], minlength=len(users))
        return UserEvalSet(
            users=users,
            inputs=left_padded_windows(items, hist_end, start, max_len),
            history_start=start,
            history_end=hist_end,
            target_indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            target_items=items[positions[keep]],
            num_skipped=int(len(group) - len(users)),
        )

    # ---------------------------------------------------------------- batches
    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> UserEvalBatch:
        """Evaluation batch (``which`` = "valid" or "test") for rows of that group.

        The batch carries the targets as a CSR (``target_indptr``, ``target_items``);
        with ``with_history`` also each row's full history ``s[:h]``
        (``history_indptr``, ``history_items``) for masking seen items.
        """
        part = self.eval_set(which)
        rows = np.asarray(rows, dtype=np.int64)
        lo, hi = part.target_indptr[rows], part.target_indptr[rows + 1]
        t_rows, t_pos = ragged_positions(lo, hi)
        counts = np.bincount(t_rows, minlength=len(rows))
        batch = UserEvalBatch(
            input_ids=torch.from_numpy(part.inputs[rows]),
            user_ids=torch.from_numpy(part.users[rows]),
            target_indptr=torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)),
            target_items=torch.from_numpy(part.target_items[t_pos]),
        )
        if with_history:
            start, end = part.history_start[rows], part.history_end[rows]
            _, positions = ragged_positions(start, end)
            batch.history_indptr = torch.from_numpy(
                np.concatenate([[0], np.cumsum(end - start)]).astype(np.int64)
            )
            batch.history_items = torch.from_numpy(self.dataset.items[positions])
        return batch

    # ------------------------------------------------------------ statistics
    def train_item_counts(self) -> np.ndarray:
        """``(N + 1,)`` item frequencies over the train users' sequences (no held-out user)."""
        rows, positions = ragged_positions(
            self.dataset.indptr[:-1][self.groups == 0], self.dataset.indptr[1:][self.groups == 0]
        )
        del rows
        return np.bincount(self.dataset.items[positions], minlength=self.num_items + 1)

    def describe(self) -> dict[str, Any]:
        """Provenance and sizes of the split, to record with every result."""
        return {
            "protocol": "user",
            "split_source": self.split_source,
            "seed": self.seed if self.split_source == "seeded" else None,
            "ratios": list(self.ratios) if self.split_source == "seeded" else None,
            "history_fraction": self.history_fraction,
            "max_len": self.max_len,
            "max_windows": self.max_windows,
            "users": {g: int((self.groups == i).sum()) for i, g in enumerate(_GROUPS)},
            "train_rows": self.num_train_rows,
            "valid_rows": self.valid.num_rows,
            "test_rows": self.test.num_rows,
            "skipped_users": {
                "train": self.num_skipped_train,
                "valid": self.valid.num_skipped,
                "test": self.test.num_skipped,
            },
            "checksum": self.dataset.checksum(),
        }
