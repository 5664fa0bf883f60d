"""Beyond accuracy: novelty, category share and catalogue coverage of top-N lists.

Pure functions on ``(B, n)`` tensors of recommended item ids (best first, 0 = empty
slot), and a mergeable accumulator that the evaluation passes of both protocols feed
with their top-N lists (:mod:`graphrec.eval.loo`, :mod:`graphrec.eval.user_protocol`,
``beyond_accuracy=True``).

* **Novelty@N** — mean self-information of the recommended items, with :math:`p(i)` the
  item's share of the training interactions (Zhou et al., PNAS 2010; Vargas & Castells,
  RecSys 2011):

  .. math::
      \\mathrm{Nov}(L_u) = \\frac{1}{|L_u|} \\sum_{i \\in L_u} -\\log_2 p(i), \\qquad
      p(i) = \\frac{\\max(c_i, 1)}{\\sum_j c_j}

  averaged over lists (an item never seen in training counts as seen once, so its
  self-information stays finite);
* **CategoryShare@N** — the share of distinct categories in a list, over its items of
  known category (lists without one are left out), averaged over lists:

  .. math:: \\mathrm{CS}(L_u) = \\frac{|\\{c(i) : i \\in L_u,\\ c(i) > 0\\}|}{|\\{i \\in L_u : c(i) > 0\\}|}

* **Coverage@N** — distinct items recommended over all lists, divided by ``N_items``:

  .. math:: \\mathrm{Cov} = \\frac{|\\bigcup_u L_u|}{N_{items}}
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

#: the list lengths reported by default (those of the user protocol)
DEFAULT_BEYOND_NS: tuple[int, ...] = (20, 50)


def self_information(item_counts: npt.ArrayLike | Tensor) -> Tensor:
    """``(N + 1,)`` float64 self-information :math:`-\\log_2 p(i)` (see the module docstring; entry 0: 0)."""
    counts = torch.as_tensor(np.asarray(item_counts), dtype=torch.float64).reshape(-1)  # (N + 1,)
    total = float(counts[1:].sum())
    if total <= 0:
        raise ValueError("item_counts hold no training interaction")
    info = -torch.log2(counts.clamp_min(1.0) / total)  # (N + 1,)
    info[0] = 0.0
    return info


def list_novelty(lists: Tensor, info: Tensor) -> tuple[Tensor, Tensor]:
    """Per-list mean self-information: ``(nov (B,) float64, defined (B,) bool)`` (undefined: empty list)."""
    filled = lists > 0  # (B, n)
    values = info.to(lists.device)[lists] * filled  # (B, n)
    size = filled.sum(dim=1).to(torch.float64)  # (B,)
    defined = size > 0
    return torch.where(defined, values.sum(dim=1) / size.clamp_min(1.0), torch.zeros_like(size)), defined


def list_category_share(lists: Tensor, item_category: Tensor) -> tuple[Tensor, Tensor]:
    """Per-list share of distinct known categories: ``(share (B,) float64, defined (B,) bool)``."""
    cats = item_category.to(lists.device)[lists].masked_fill(lists <= 0, 0)  # (B, n)
    known = cats > 0  # (B, n)
    ordered = torch.sort(cats, dim=1).values  # (B, n)
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # (B, n) first of each distinct value
    distinct = (first & (ordered > 0)).sum(dim=1).to(torch.float64)  # (B,)
    size = known.sum(dim=1).to(torch.float64)  # (B,)
    defined = size > 0
    return torch.where(defined, distinct / size.clamp_min(1.0), torch.zeros_like(size)), defined


def recommended_items(lists: Tensor, num_items: int) -> Tensor:
    """``(N + 1,)`` bool: which items appear in any list (entry 0 = False)."""
    seen = torch.zeros(num_items + 1, dtype=torch.bool, device=lists.device)
    seen[lists.flatten()] = True
    seen[0] = False
    return seen


def coverage(lists: Tensor, num_items: int) -> float:
    """Distinct items recommended over all ``lists`` divided by ``num_items``."""
    return float(recommended_items(lists, num_items).sum()) / num_items


class BeyondAccuracy:
    """Accumulates Novelty@N, CategoryShare@N and Coverage@N over blocks of top-N lists.

    Args:
        item_counts: ``(N + 1,)`` training interactions per item (``split.train_item_counts()``).
        item_category: optional ``(N + 1,)`` category per item (0 = unknown); no
            CategoryShare without it.
        ns: list lengths (each list must have at least ``max(ns)`` columns).

    ``update(lists)`` takes a block's ``(B, n)`` lists; :meth:`result` returns the means
    (all-reduced over the ranks of a ``torchrun`` job when ``shard`` is set).
    """

    def __init__(self, item_counts: npt.ArrayLike | Tensor,
                 item_category: npt.ArrayLike | Tensor | None = None,
                 ns: Sequence[int] = DEFAULT_BEYOND_NS) -> None:
        self.info = self_information(item_counts)  # (N + 1,)
        self.num_items = int(self.info.numel() - 1)
        self.category = None if item_category is None else torch.as_tensor(np.asarray(item_category),
                                                                             dtype=torch.long)
        self.ns = tuple(int(n) for n in ns)
        if not self.ns or min(self.ns) < 1:
            raise ValueError(f"ns must be positive list lengths, got {tuple(ns)}")
        self.sums: dict[str, float] = {}
        self.seen = {n: torch.zeros(self.num_items + 1, dtype=torch.bool) for n in self.ns}

    def update(self, lists: Tensor) -> None:
        """Add a block of ``(B, n)`` ranked lists, ``n >= max(ns)``."""
        if lists.shape[1] < max(self.ns):
            raise ValueError(f"lists have {lists.shape[1]} columns, fewer than {max(self.ns)}")
        for n in self.ns:
            top = lists[:, :n]  # (B, n)
            parts = {"Novelty": list_novelty(top, self.info)}
            if self.category is not None:
                parts["CategoryShare"] = list_category_share(top, self.category)
            for name, (value, defined) in parts.items():
                self._add(f"{name}@{n}", float(value.sum()))
                self._add(f"{name}_count@{n}", float(defined.sum()))
            self.seen[n] |= recommended_items(top, self.num_items).cpu()

    def _add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def result(self, shard: bool = False) -> dict[str, float]:
        """``{"Novelty@N", ["CategoryShare@N"], "Coverage@N"}`` (NaN for an empty denominator)."""
        sums = dict(self.sums)
        seen = dict(self.seen)
        if shard:
            from graphrec import distributed

            info = distributed.current()
            if info.is_distributed:
                import torch.distributed as dist

                sums = distributed.all_reduce_sums(sums, info)
                device = info.device if info.device.startswith("cuda") else "cpu"
                for n in self.ns:
                    flags = seen[n].to(device=device, dtype=torch.int32)
                    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
                    seen[n] = flags.cpu() > 0
        out: dict[str, float] = {}
        for n in self.ns:
            for name in ("Novelty", "CategoryShare"):
                if f"{name}@{n}" in sums:
                    count = sums[f"{name}_count@{n}"]
                    out[f"{name}@{n}"] = sums[f"{name}@{n}"] / count if count > 0 else math.nan
            out[f"Coverage@{n}"] = float(seen[n].sum()) / self.num_items
        return out


__all__ = [
    "DEFAULT_BEYOND_NS",
    "BeyondAccuracy",
    "coverage",
    "list_category_share",
    "list_novelty",
    "recommended_items",
    "self_information",
]
