"""User-split evaluation (ComiRec / REMI / HPCL4SR / DSIE protocol).

For every held-out user (:class:`graphrec.data.user_split.UserSplit`) the model
encodes the history into interests :math:`q_{u,1..K}`; each interest retrieves its
top-N items, the :math:`K N` candidates are merged by score with duplicates
dropped and the first N kept (:func:`graphrec.eval.retrieval.multi_interest_topn`).
With the list :math:`L_u` (``L_u[r]`` at 0-based rank ``r``), the target set
:math:`T_u` (distinct items of the last 20 % of the sequence) and
:math:`\\mathrm{hit}_r = [L_u[r] \\in T_u]`:

.. math::

    \\mathrm{Recall@N} = \\frac{\\sum_{r<N} \\mathrm{hit}_r}{|T_u|}, \\qquad
    \\mathrm{HR@N} = \\Big[\\sum_{r<N} \\mathrm{hit}_r > 0\\Big],

    \\mathrm{NDCG@N} = \\frac{\\sum_{r<N} \\mathrm{hit}_r / \\log_2(r + 2)}
                            {\\sum_{r < \\min(|T_u|, N)} 1 / \\log_2(r + 2)},

    \\mathrm{Diversity@N} = \\frac{\\#\\{r < s < N : c(L_u[r]) \\ne c(L_u[s])\\}}
                                 {\\#\\{r < s < N\\}},

each averaged over users (Diversity over the users whose list has at least two
items of known category; pairs involving an unknown category 0 or an empty slot
are left out of both counts). The NDCG above is the standard one: the ideal list
puts :math:`\\min(|T_u|, N)` targets first.

**ComiRec's released code differs** (``evaluate_full`` in THUDM/ComiRec
``src/train.py``): it turns the retrieved list into a *set*, discounts each hit
by the position of the target within the user's *target sequence*
(``1 / log2(no + 2)`` for the ``no``-th future item) instead of by its rank in
the list, and normalises by an IDCG over the *number of hits* rather than
:math:`\\min(|T_u|, N)` — so a user whose first future item is the only hit gets
NDCG 1 wherever it is ranked. Its Recall also counts a repeated target item once
per occurrence (targets here are distinct items). Its Recall@N, HR@N and
Diversity@N (over the merged list) match the definitions above on data without
repeated targets; its NDCG is not comparable with this one (it is typically much
higher). Diversity is ComiRec's (§4.4, Eq. 12) with unknown categories excluded.

So that rows can be read against papers that report the released code's number
(ComiRec, REMI, HPCL4SR, whose NDCG exceeds their recall), that variant is reported
too, **labelled** ``NDCG_comirec@N`` (:func:`comirec_ndcg_sums`). With the targets
:math:`T_u = (t_0, t_1, \\dots)` in chronological order and :math:`S_u` the *set* of the
first N merged items:

.. math::

    h_j = [t_j \\in S_u], \\qquad H_u = \\sum_j h_j, \\qquad
    \\mathrm{NDCG\\_comirec@N} = \\begin{cases}
        \\dfrac{\\sum_j h_j / \\log_2(j + 2)}{\\sum_{r < H_u} 1 / \\log_2(r + 2)} & H_u > 0 \\\\
        0 & H_u = 0,
    \\end{cases}

i.e. the DCG discounts a hit by the position ``j`` of the target in the user's
target list (not by its rank in the recommended list) and the IDCG runs over the
number of hits :math:`H_u` (not over :math:`\\min(|T_u|, N)`). Here the targets are the
distinct items in order of first occurrence (the released code keeps repeats).
``NDCG@N`` stays the standard definition; every other value is unaffected.

History masking (``mask_history``, off by default as in ComiRec, recorded with
the result) removes every item of the user's full history from retrieval; a
target that is also a history item (re-consumption) then cannot be hit.

Reference: Cen et al., "Controllable Multi-Interest Framework for
Recommendation", KDD 2020.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from graphrec.data.user_split import UserEvalBatch
from graphrec.eval.beyond_accuracy import BeyondAccuracy
from graphrec.eval.blocks import BlockSums, blocked_metric_sums, check_eval_arguments
from graphrec.eval.metrics import add_metric_sums
from graphrec.eval.retrieval import EMPTY_ITEM, FaissItemIndex, faiss_available, multi_interest_topn
from graphrec.eval.sharded import evaluate_sharded, gather_strided

DEFAULT_NS: tuple[int, ...] = (20, 50)
_PER_USER = ("Recall", "HR", "NDCG", "NDCG_comirec")


class UserSplitEvaluable(Protocol):
    """What the evaluation needs from a split (:class:`~graphrec.data.user_split.UserSplit`)."""

    def num_eval_rows(self, which: str) -> int: ...

    def eval_batch(self, which: str, rows: np.ndarray, with_history: bool = False) -> UserEvalBatch: ...


class MultiInterestModel(Protocol):
    """A model with ``interests(batch) -> (B, K, D)`` and ``item_embeddings() -> (N + 1, D)``."""

    def interests(self, batch: Any) -> Tensor: ...

    def item_embeddings(self) -> Tensor: ...


#: the per-row metrics of a ranked list against its targets (:func:`list_metric_values`)
LIST_METRICS = ("Recall", "HR", "NDCG", "NDCG_comirec")


def target_hits(lists: Tensor, target_indptr: Tensor, target_items: Tensor) -> Tensor:
    """``(B, n)`` bool: whether ``lists[b, r]`` is one of row ``b``'s targets.

    One ``isin`` over keys ``b * (M + 1) + item`` — no loop over users.

    Args:
        lists: ``(B, n)`` retrieved item ids (0 = empty slot, never a hit).
        target_indptr: ``(B + 1,)`` CSR offsets; target_items: ``(T,)`` item ids ``>= 1``.
    """
    batch = lists.shape[0]
    device = lists.device
    target_items = target_items.to(device)
    rows = torch.repeat_interleave(torch.arange(batch, device=device), target_indptr.diff().to(device))
    stride = max(int(lists.max()) if lists.numel() else 0,
                 int(target_items.max()) if target_items.numel() else 0) + 1
    list_keys = torch.arange(batch, device=device)[:, None] * stride + lists  # (B, n)
    hits = torch.isin(list_keys, rows * stride + target_items)  # (B, n)
    return hits & (lists != EMPTY_ITEM)


def list_diversity(categories: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row share of distinct-category pairs in a list, over known categories.

    .. math:: \\mathrm{div} = \\frac{\\#\\{r<s : c_r \\ne c_s,\\ c_r, c_s > 0\\}}{\\#\\{r<s : c_r, c_s > 0\\}}

    Args:
        categories: ``(B, n)`` category of each listed item (0 = unknown / empty slot).

    Returns:
        ``(diversity, defined)``: ``(B,)`` float64 (0 where undefined) and ``(B,)``
        bool, True where the row has at least two items of known category.
    """
    known = categories > 0  # (B, n)
    pair_known = known[:, :, None] & known[:, None, :]  # (B, n, n)
    differ = categories[:, :, None] != categories[:, None, :]  # (B, n, n)
    # each unordered pair counted twice, the diagonal never differs -> ratio unaffected
    pairs = pair_known.sum(dim=(1, 2)).to(torch.float64) - known.sum(dim=1).to(torch.float64)  # (B,)
    distinct = (pair_known & differ).sum(dim=(1, 2)).to(torch.float64)  # (B,)
    defined = pairs > 0
    return torch.where(defined, distinct / pairs.clamp_min(1.0), torch.zeros_like(pairs)), defined


def comirec_ndcg_values(
    lists: Tensor,
    target_indptr: Tensor,
    target_items: Tensor,
    ns: Sequence[int] = DEFAULT_NS,
) -> dict[str, Tensor]:
    """Per-row ComiRec-code NDCG, ``NDCG_comirec@N`` (see the module docstring).

    The released ``evaluate_full`` (THUDM/ComiRec ``src/train.py``) walks the user's
    targets in order; target ``j`` found in the recommended *set* adds
    ``1 / log2(j + 2)`` to the DCG and one to the hit count ``H``; the IDCG is
    ``sum_{r < H} 1 / log2(r + 2)``; a user without a hit counts 0. Vectorised over all
    targets of all rows (one ``isin``, no loop over users).

    Args:
        lists: ``(B, n)`` ranked item ids, best first (0 = empty slot), ``n >= max(ns)``.
        target_indptr: ``(B + 1,)``; target_items: ``(T,)`` each row's targets in order.
        ns: cut-offs.

    Returns:
        ``{"NDCG_comirec@N": (B,) float64 value of each row}``.
    """
    device = lists.device
    batch = lists.shape[0]
    target_items = target_items.to(device)
    counts = target_indptr.diff().to(device)  # (B,)
    rows = torch.repeat_interleave(torch.arange(batch, device=device), counts)  # (T,)
    first = target_indptr[:-1].to(device)[rows]  # (T,) offset of each target's row
    position = torch.arange(target_items.numel(), device=device) - first  # (T,) j, position in T_u
    stride = max(int(lists.max()) if lists.numel() else 0,
                 int(target_items.max()) if target_items.numel() else 0) + 1
    gain = 1.0 / torch.log2(position.to(torch.float64) + 2.0)  # (T,) 1 / log2(j + 2)
    longest = int(counts.max()) if counts.numel() else 0
    ideal = torch.cumsum(1.0 / torch.log2(torch.arange(max(longest, 1), device=device,
                                                       dtype=torch.float64) + 2.0), dim=0)  # (max |T_u|,)
    out: dict[str, Tensor] = {}
    for n in ns:
        top = lists[:, :n]  # (B, n)
        keys = torch.arange(batch, device=device)[:, None] * stride + top  # (B, n)
        found = torch.isin(rows * stride + target_items, keys[top != EMPTY_ITEM])  # (T,) t_j in S_u
        zeros = torch.zeros(batch, dtype=torch.float64, device=device)  # (B,)
        hits = zeros.index_add(0, rows, found.double())  # (B,) H_u
        dcg = zeros.index_add(0, rows, found * gain)  # (B,)
        idcg = ideal[(hits.long() - 1).clamp_min(0)]  # (B,) over the number of hits
        ndcg = torch.where(hits > 0, dcg / idcg, torch.zeros_like(dcg))  # (B,)
        out[f"NDCG_comirec@{n}"] = ndcg
    return out


def comirec_ndcg_sums(
    lists: Tensor,
    target_indptr: Tensor,
    target_items: Tensor,
    ns: Sequence[int] = DEFAULT_NS,
) -> dict[str, float]:
    """Sums over the rows of :func:`comirec_ndcg_values` (float64, as :func:`list_metric_sums`)."""
    return {key: float(value.sum()) for key, value in comirec_ndcg_values(lists, target_indptr, target_items,
                                                                           ns).items()}


def list_metric_values(
    lists: Tensor,
    target_indptr: Tensor,
    target_items: Tensor,
    ns: Sequence[int] = DEFAULT_NS,
) -> dict[str, Tensor]:
    """Per-row Recall@N, HR@N, NDCG@N and NDCG_comirec@N of ranked lists (module docstring).

    Args:
        lists: ``(B, n)`` ranked item ids, best first, ``n >= max(ns)`` (0 = empty slot).
        target_indptr: ``(B + 1,)``; target_items: ``(T,)`` distinct targets per row
            (every row has at least one).
        ns: cut-offs.

    Returns:
        ``{name: (B,) float64}``; the mean over rows of each value is the metric.
    """
    if lists.shape[1] < max(ns):
        raise ValueError(f"lists have {lists.shape[1]} columns, fewer than the largest cut-off {max(ns)}")
    num_targets = target_indptr.diff().to(lists.device).to(torch.float64)  # (B,)
    if num_targets.numel() and float(num_targets.min()) < 1:
        raise ValueError("every evaluated row needs at least one target item")
    hits = target_hits(lists, target_indptr, target_items).to(torch.float64)  # (B, n)
    width = lists.shape[1]
    discount = 1.0 / torch.log2(torch.arange(width, device=lists.device, dtype=torch.float64) + 2.0)  # (n,)
    ideal = torch.cumsum(discount, dim=0)  # (n,) IDCG for 1..n relevant items
    comirec = comirec_ndcg_values(lists, target_indptr, target_items, ns)
    out: dict[str, Tensor] = {}
    for n in ns:
        found = hits[:, :n].sum(dim=1)  # (B,)
        dcg = (hits[:, :n] * discount[:n]).sum(dim=1)  # (B,)
        idcg = ideal[(torch.clamp(num_targets, max=n) - 1).long()]  # (B,)
        out[f"Recall@{n}"] = found / num_targets
        out[f"HR@{n}"] = (found > 0).to(torch.float64)
        out[f"NDCG@{n}"] = dcg / idcg
        out[f"NDCG_comirec@{n}"] = comirec[f"NDCG_comirec@{n}"]
    return out


def list_metric_sums(
    lists: Tensor,
    target_indptr: Tensor,
    target_items: Tensor,
    ns: Sequence[int] = DEFAULT_NS,
    item_category: Tensor | None = None,
    values_out: list[dict[str, Tensor]] | None = None,
) -> dict[str, float]:
    """Sums of Recall@N, HR@N, NDCG@N (and Diversity@N) over the rows, plus ``count``.

    Args:
        lists: ``(B, n)`` ranked item ids, best first, ``n >= max(ns)`` (0 = empty slot).
        target_indptr: ``(B + 1,)``; target_items: ``(T,)`` distinct targets per row
            (every row has at least one).
        ns: cut-offs.
        item_category: optional ``(M + 1,)`` category per item for Diversity@N.
        values_out: when given, the per-row values (:func:`list_metric_values`) are appended.

    Returns:
        float64 sums ``{"Recall@N", "HR@N", "NDCG@N", "NDCG_comirec@N" (:func:`comirec_ndcg_sums`),
        ["Diversity@N", "diversity_count@N"], "count"}``; divide with :func:`finalize_user_metrics`.
    """
    values = list_metric_values(lists, target_indptr, target_items, ns)
    if values_out is not None:
        values_out.append(values)
    categories = None
    if item_category is not None:
        categories = item_category.to(lists.device)[lists]  # (B, n)
        categories = categories.masked_fill(lists == EMPTY_ITEM, 0)
    out: dict[str, float] = {}
    for n in ns:
        for name in LIST_METRICS:
            out[f"{name}@{n}"] = float(values[f"{name}@{n}"].sum())
        if categories is not None:
            diversity, defined = list_diversity(categories[:, :n])
            out[f"Diversity@{n}"] = float(diversity.sum())
            out[f"diversity_count@{n}"] = float(defined.sum())
    out["count"] = float(lists.shape[0])
    return out


#: element-wise sum of two :func:`list_metric_sums` results (keys must match)
add_sums = add_metric_sums


def finalize_user_metrics(sums: Mapping[str, float]) -> dict[str, float]:
    """Means from sums: Recall/HR/NDCG over ``count``, Diversity over its own count.

    An empty denominator gives NaN.
    """
    out: dict[str, float] = {}
    count = float(sums.get("count", 0.0))
    for key, value in sums.items():
        name = key.split("@")[0]
        if name in _PER_USER:
            out[key] = float(value) / count if count > 0 else math.nan
        elif name == "Diversity":
            denom = float(sums[f"diversity_count@{key.split('@')[1]}"])
            out[key] = float(value) / denom if denom > 0 else math.nan
    return out


def _resolve_categories(split: Any, item_category: Tensor | np.ndarray | None) -> Tensor | None:
    if item_category is not None:
        return torch.as_tensor(np.asarray(item_category), dtype=torch.long)
    dataset = getattr(split, "dataset", None)
    if dataset is not None and getattr(dataset, "has_categories", False):
        return torch.as_tensor(dataset.item_category, dtype=torch.long)
    return None


def user_metric_sums(
    model: MultiInterestModel,
    split: UserSplitEvaluable,
    which: str = "valid",
    rows: np.ndarray | None = None,
    ns: Sequence[int] = DEFAULT_NS,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
    item_category: Tensor | np.ndarray | None = None,
    mask_history: bool = False,
    backend: str = "torch",
    block_size: int | None = None,
    beyond_out: BeyondAccuracy | None = None,
    values_out: list[dict[str, Tensor]] | None = None,
) -> dict[str, float]:
    """Metric *sums* (and ``count``) over ``rows`` of the held-out group ``which``.

    Mergeable: sums from disjoint row sets add up (:func:`add_sums`) to the sums
    over their union. The model's train/eval mode is restored afterwards. See
    :func:`evaluate_user_split` for the arguments; ``beyond_out``, when given, is fed every
    block's merged lists (:mod:`graphrec.eval.beyond_accuracy`); ``values_out``, when given,
    receives every block's per-row values (:func:`list_metric_values`) and ``"users"`` (the
    rows' user ids), in row order.
    """
    check_eval_arguments(which, batch_size)
    if not ns or min(ns) < 1:
        raise ValueError(f"ns must be positive cut-offs, got {tuple(ns)}")
    if backend not in ("torch", "faiss", "auto"):
        raise ValueError(f"backend must be 'torch', 'faiss' or 'auto', got {backend!r}")
    if rows is None:
        rows = np.arange(split.num_eval_rows(which))
    categories = _resolve_categories(split, item_category)
    if categories is not None:
        categories = categories.to(device)
    top = max(ns)

    def start() -> BlockSums:
        item_emb = model.item_embeddings().float()  # (N + 1, D)
        if not torch.isfinite(item_emb[1:]).all():
            raise ValueError("item embeddings contain NaN or inf; refusing to rank")
        use_faiss = backend == "faiss" or (backend == "auto" and faiss_available())
        index = FaissItemIndex(item_emb) if use_faiss else None

        def block_sums(batch: UserEvalBatch) -> dict[str, float]:
            interests = model.interests(batch).float()  # (B, K, D)
            exclude = None
            if mask_history:
                assert batch.history_indptr is not None and batch.history_items is not None
                exclude = (batch.history_indptr, batch.history_items)
            lists, _ = multi_interest_topn(
                interests, item_emb, top, exclude=exclude, block_size=block_size, index=index
            )  # (B, top)
            if beyond_out is not None:
                beyond_out.update(lists)
            assert batch.target_indptr is not None and batch.target_items is not None
            block_values: list[dict[str, Tensor]] | None = [] if values_out is not None else None
            sums = list_metric_sums(lists, batch.target_indptr, batch.target_items, ns, categories,
                                    block_values)
            if values_out is not None and block_values:
                values_out.append({"users": batch.user_ids.cpu(), **block_values[0]})
            return sums

        return block_sums

    def empty() -> dict[str, float]:  # no rows: zero sums with the right keys
        lists = torch.zeros((0, top), dtype=torch.long)
        return list_metric_sums(lists, torch.zeros(1, dtype=torch.long), lists.flatten(), ns, categories)

    return blocked_metric_sums(model, split, which, rows, batch_size, mask_history, device, start, empty)


def evaluate_user_split(
    model: MultiInterestModel,
    split: UserSplitEvaluable,
    which: str = "valid",
    ns: Sequence[int] = DEFAULT_NS,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
    item_category: Tensor | np.ndarray | None = None,
    mask_history: bool = False,
    rows: np.ndarray | None = None,
    shard: bool = False,
    backend: str = "torch",
    block_size: int | None = None,
    beyond_accuracy: bool = False,
    return_values: bool = False,
) -> dict[str, Any]:
    """User-split metrics of ``model`` on the validation or test users.

    Args:
        model: anything with ``interests(batch) -> (B, K, D)`` and
            ``item_embeddings() -> (N + 1, D)``.
        split: a :class:`~graphrec.data.user_split.UserSplit`.
        which: ``"valid"`` or ``"test"``.
        ns: list lengths (one retrieval of ``max(ns)`` serves every cut-off: the
            merged list's prefix of length M is the merged top-M).
        batch_size: users per retrieval block.
        device: where to encode and retrieve.
        item_category: ``(N + 1,)`` category per item for Diversity@N; by default the
            split's dataset categories when it has any (no Diversity otherwise).
        mask_history: exclude the user's full history from retrieval (default off).
        rows: evaluate only these rows of the group (default: all).
        shard: under ``torchrun``, each rank evaluates ``rows[rank::world]`` and the
            sums are all-reduced once (every rank must call it); ignored alone.
        backend: ``"torch"`` (exact blocked matmul), ``"faiss"`` (exact
            ``IndexFlatIP``; needs the ``faiss`` extra) or ``"auto"`` (faiss if installed).
        block_size: items scored at once by the torch search.
        beyond_accuracy: also compute Novelty@N, CategoryShare@N and Coverage@N of the
            merged lists (``N`` in ``ns``; :mod:`graphrec.eval.beyond_accuracy`, with the
            split's training counts), returned under ``"beyond_accuracy"``; off by default.
        return_values: also return every evaluated user's own value of each metric under
            ``"per_user"`` (not JSON; pop it before writing the metrics): ``{"users": (R,)
            int64 user ids, name: (R,) float64}`` for Recall/HR/NDCG/NDCG_comirec @N, in the
            order of ``rows``, whose means are the metrics (gathered from every rank under
            sharding). :mod:`graphrec.experiment.compare` pairs runs user by user on them.

    Returns:
        ``{"Recall@N", "HR@N", "NDCG@N", "NDCG_comirec@N", ["Diversity@N"]}`` means, plus
        ``num_users``, ``mask_history``, ``seconds`` (slowest rank) and ``users_per_s``.
    """
    if rows is None:
        rows = np.arange(split.num_eval_rows(which))
    beyond = None
    if beyond_accuracy:
        categories = _resolve_categories(split, item_category)
        beyond = BeyondAccuracy(split.train_item_counts(), categories, ns)  # type: ignore[attr-defined]
    collected: list[dict[str, Tensor]] | None = [] if return_values else None
    metrics = evaluate_sharded(
        rows,
        lambda local: user_metric_sums(model, split, which, local, ns, batch_size, device, item_category,
                                       mask_history, backend, block_size, beyond_out=beyond,
                                       values_out=collected),
        finalize_user_metrics, shard, mask_history,
    )
    if beyond is not None:
        metrics["beyond_accuracy"] = beyond.result(shard)
    if collected is None:
        return metrics
    names = ["users", *(f"{name}@{n}" for n in ns for name in LIST_METRICS)]
    per_user: dict[str, np.ndarray] = {}
    for name in names:
        empty = torch.zeros(0, dtype=torch.int64 if name == "users" else torch.float64)
        parts = [block[name].cpu() for block in collected]
        local = (torch.cat(parts) if parts else empty).numpy()  # (R_local,)
        per_user[name] = gather_strided(local, len(rows), shard)  # (R,) row order
    metrics["per_user"] = per_user
    return metrics


__all__ = [
    "DEFAULT_NS",
    "LIST_METRICS",
    "add_sums",
    "comirec_ndcg_sums",
    "comirec_ndcg_values",
    "evaluate_user_split",
    "finalize_user_metrics",
    "list_diversity",
    "list_metric_sums",
    "list_metric_values",
    "target_hits",
    "user_metric_sums",
]
