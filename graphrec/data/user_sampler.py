"""ComiRec's training sampler: users drawn uniformly, one cut per user anywhere in its sequence.

The released ComiRec / REMI iterator (``src/data_iterator.py``, ``train_flag=0``) builds
each training batch by drawing ``batch_size`` distinct training users uniformly at
random, then for every user ``u`` with sequence :math:`s_u` of length :math:`n_u` a cut

.. math::
    k \\sim \\mathcal{U}\\{k_{\\min}, \\dots, n_u - 1\\}, \\qquad k_{\\min} = 4,

whose item :math:`s_u[k]` is the single target and whose input is the (at most)
``max_len`` items before it, :math:`s_u[\\max(0, k - L) : k]`. The cut runs over the
*whole* sequence, not inside a training window, so every position of a long history
is reachable and inputs are as long as the history allows. ComiRec's preprocessing
keeps only users with at least 5 items; here a user with ``2 <= n_u <= k_min`` items cuts
anywhere in ``{1, ..., n_u - 1}`` and a user with fewer than 2 items is never drawn.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

#: ComiRec's smallest cut: ``random.choice(range(4, len(item_list)))``
COMIREC_MIN_CUT = 4


class UserCutSampler:
    """Draws ComiRec training samples from the training users' whole sequences.

    Args:
        indptr: ``(U + 1,)`` CSR offsets of the training users' sequences.
        items: ``(nnz,)`` their item ids ``1..N``, time-ordered per user.
        max_len: ``L``, the longest input.
        min_cut: :math:`k_{\\min}` (default ComiRec's 4).
        user_ids: ``(U,)`` the dataset's id of every CSR row (default ``0..U-1``).

    Shapes:
        :meth:`sample` returns ``users`` ``(B,)``, ``inputs`` ``(B, L)`` left-padded and
        ``targets`` ``(B,)``.
    """

    def __init__(self, indptr: npt.ArrayLike, items: npt.ArrayLike, max_len: int,
                 min_cut: int = COMIREC_MIN_CUT, user_ids: npt.ArrayLike | None = None) -> None:
        offsets = torch.as_tensor(np.asarray(indptr, dtype=np.int64))
        lengths = offsets[1:] - offsets[:-1]
        eligible = torch.nonzero(lengths >= 2).flatten()
        if len(eligible) == 0:
            raise ValueError("no training user has 2 or more items: nothing to cut")
        if max_len < 1 or min_cut < 1:
            raise ValueError(f"max_len and min_cut must be >= 1, got {max_len} and {min_cut}")
        ids = torch.arange(len(lengths)) if user_ids is None else torch.as_tensor(np.asarray(user_ids))
        self.user_ids = ids.long()[eligible]  # (U',)
        self.starts = offsets[:-1][eligible]  # (U',)
        self.lengths = lengths[eligible]  # (U',)
        self.items = torch.as_tensor(np.asarray(items, dtype=np.int64))
        self.max_len = int(max_len)
        self.min_cut = int(min_cut)

    @property
    def num_users(self) -> int:
        """Users that can be drawn (two items or more)."""
        return int(len(self.lengths))

    def sample(self, batch_size: int,
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``batch_size`` distinct users (all of them when fewer), one cut each: users, inputs, targets."""
        count = min(int(batch_size), self.num_users)
        users = torch.randperm(self.num_users, generator=generator)[:count]  # (B,) without replacement
        n = self.lengths[users]  # (B,)
        low = torch.where(n > self.min_cut, self.min_cut, 1)  # short users: any cut that leaves an input
        span = n - low  # choices in {low, ..., n - 1}
        cut = low + (torch.rand(count, generator=generator, dtype=torch.float64) * span).long()  # (B,)
        cut = torch.minimum(cut, n - 1)  # guards the (measure-zero) rand == 1 edge
        start = self.starts[users]
        targets = self.items[start + cut]  # (B,)
        offset = cut.unsqueeze(1) - self.max_len + torch.arange(self.max_len)  # (B, L) index in the user
        valid = offset >= 0
        inputs = torch.where(valid, self.items[start.unsqueeze(1) + offset.clamp_min(0)], 0)  # (B, L)
        return self.user_ids[users], inputs, targets


def draw_like(sampler: UserCutSampler | None, input_ids: Tensor,
              generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """As many samples as ``input_ids`` has rows, on its device: users, inputs ``(B, L)``, targets.

    Raises:
        ValueError: ``sampler`` is ``None`` (a model built without its training users).
    """
    if sampler is None:
        raise ValueError("model.recipe = 'comirec' draws from the training users' sequences: "
                         "build the model with from_context")
    users, inputs, targets = sampler.sample(len(input_ids), generator)
    device = input_ids.device
    return users.to(device), inputs.to(device), targets.to(device)


__all__ = ["COMIREC_MIN_CUT", "UserCutSampler", "draw_like"]
