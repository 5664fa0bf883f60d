"""Multi-interest retrieval: per-interest top-N, then merge (ComiRec, KDD 2020, §3.4 / §4.1).

A user with interests :math:`q_{u,1..K}` is served by letting every interest
retrieve its own top-N items by inner product, pooling the :math:`K \\cdot N`
candidates, keeping each item once with its best score and returning the N best:

.. math::

    \\mathrm{list}_u = \\operatorname{top\\text{-}N}_{i \\in \\cup_k C_{u,k}}
    \\max_{k:\\, i \\in C_{u,k}} \\langle q_{u,k}, e_i \\rangle,
    \\qquad C_{u,k} = \\operatorname{top\\text{-}N}_i \\langle q_{u,k}, e_i \\rangle .

Because :math:`C_{u,k}` holds the N best items of interest k, this equals the N
items with the largest :math:`\\max_k \\langle q_{u,k}, e_i \\rangle` over all items
(ties aside), and its first M entries are the merged top-M for any M <= N.

The exact search is a blocked matmul + running top-k in torch (item 0 = padding
never retrieved): by default over item blocks of up to :data:`MAX_ITEM_BLOCK` items
and as many users at a time as keep a pass within :data:`SCORE_BUDGET` scores.
:class:`FaissItemIndex` does the per-interest search with faiss
(``pip install graphrec[faiss]``) when it is installed; the merge is the same
vectorised torch code either way.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import torch
from torch import Tensor

#: item id of an empty slot (fewer than N retrievable items); its score is -inf
EMPTY_ITEM = 0

CSR = tuple[Tensor, Tensor]

#: the default torch search scores at most this many (user interest, item) pairs at once
#: (2**24 float32 scores = 64 MiB)
SCORE_BUDGET = 1 << 24
#: the default torch search's longest item block. torch's CPU top-k costs less per score on
#: longer rows: at one thread, top-50 over 164k items for 1,024 users x 4 interests took
#: 4.7 s in 4,096-item blocks and 1.3 s in one block, the matmul ~3.5 s either way
MAX_ITEM_BLOCK = 1 << 17


def faiss_available() -> bool:
    """Whether the optional ``faiss`` package can be imported."""
    return importlib.util.find_spec("faiss") is not None


def _check_finite(interests: Tensor) -> None:
    if not torch.isfinite(interests).all():
        raise ValueError(
            "interest vectors contain NaN or inf; the model produced non-finite outputs "
            "(e.g. fully padded rows through attention), refusing to rank"
        )


def _exclude_rows(exclude: CSR, batch_size: int) -> tuple[Tensor, Tensor]:
    """Row index and item id of every excluded (row, item) pair of a CSR."""
    indptr, items = exclude
    if indptr.numel() != batch_size + 1:
        raise ValueError(
            f"exclude indptr has {indptr.numel()} entries, expected batch size + 1 = {batch_size + 1}"
        )
    lengths = indptr.diff().to(items.device)  # (B,)
    rows = torch.repeat_interleave(torch.arange(batch_size, device=items.device), lengths)  # (nnz,)
    return rows, items


def _slice_csr(exclude: CSR | None, lo: int, hi: int) -> CSR | None:
    """Rows ``lo..hi-1`` of a CSR ``(indptr (B + 1,), items)``, re-based to start at 0."""
    if exclude is None:
        return None
    indptr, items = exclude
    start, stop = int(indptr[lo]), int(indptr[hi])
    return indptr[lo:hi + 1] - indptr[lo], items[start:stop]


def interest_topn(
    interests: Tensor,
    item_emb: Tensor,
    n: int,
    exclude: CSR | None = None,
    block_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Each interest's top-``n`` items by inner product (exact, blocked over items).

    .. math:: C_{u,k} = \\operatorname{top\\text{-}n}_{i \\in 1..N} \\langle q_{u,k}, e_i \\rangle

    Args:
        interests: ``(B, K, D)``.
        item_emb: ``(N + 1, D)``; row 0 (padding) is never retrieved.
        n: list length per interest.
        exclude: optional CSR ``(indptr (B + 1,), items (nnz,))`` of items that row
            ``b`` must not retrieve (e.g. its history).
        block_size: items scored at once, for all ``B`` users together (``B K block_size``
            scores in memory). By default the ``N`` items are cut into
            :math:`\\lceil N / 2^{17} \\rceil` near-equal blocks (:data:`MAX_ITEM_BLOCK`) and
            the users into chunks of :math:`\\max(1, \\lfloor 2^{24} / (K \\cdot
            \\text{block}) \\rfloor)`, so that at most :math:`\\max(2^{24}, K \\cdot 2^{17})`
            scores (64 MiB of float32 for ``K <= 128``; :data:`SCORE_BUDGET`) exist at a time,
            plus the ``(B, K, n)`` running lists. The lists do not depend on the blocking
            (up to the order of exactly tied scores).

    Returns:
        ``(items, scores)``, both ``(B, K, n)``, best first; slots beyond the number of
        retrievable items hold item 0 with score ``-inf``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _check_finite(interests)
    batch, k, _ = interests.shape
    num_items = item_emb.shape[0] - 1
    if block_size is None:
        blocks = max(1, math.ceil(num_items / MAX_ITEM_BLOCK))
        block_size = max(1, math.ceil(num_items / blocks))  # (N / blocks), <= MAX_ITEM_BLOCK
        users = max(1, SCORE_BUDGET // max(k * block_size, 1))
        if users < batch:
            if exclude is not None:
                _exclude_rows(exclude, batch)  # checks the CSR before it is cut
            parts = [interest_topn(interests[lo:lo + users], item_emb, n,
                                   _slice_csr(exclude, lo, min(lo + users, batch)), block_size)
                     for lo in range(0, batch, users)]
            return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    interests = interests.to(item_emb.dtype)
    best_scores = interests.new_full((batch, k, n), float("-inf"))
    best_items = torch.full((batch, k, n), EMPTY_ITEM, dtype=torch.long, device=interests.device)
    ex_rows, ex_items = _exclude_rows(exclude, batch) if exclude is not None else (None, None)
    for lo in range(1, num_items + 1, block_size):
        hi = min(lo + block_size, num_items + 1)
        scores = torch.einsum("bkd,nd->bkn", interests, item_emb[lo:hi])  # (B, K, hi - lo)
        if ex_rows is not None and ex_items is not None:
            sel = (ex_items >= lo) & (ex_items < hi)
            scores[ex_rows[sel], :, ex_items[sel] - lo] = float("-inf")
        top_s, top_i = scores.topk(min(n, hi - lo), dim=-1)  # (B, K, <= n)
        cat_s = torch.cat([best_scores, top_s], dim=-1)  # (B, K, n + <= n)
        cat_i = torch.cat([best_items, top_i + lo], dim=-1)  # (B, K, n + <= n)
        best_scores, pos = cat_s.topk(n, dim=-1)  # (B, K, n)
        best_items = cat_i.gather(-1, pos)  # (B, K, n)
    best_items = best_items.masked_fill(best_scores == float("-inf"), EMPTY_ITEM)
    return best_items, best_scores


def merge_topn(items: Tensor, scores: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Merge per-interest lists: pool, drop duplicates keeping the best score, keep ``n``.

    Vectorised over users: candidates are sorted by score (descending, stable),
    then stably by item id, so within each run of one item the best-scored copy
    comes first; every later copy is a duplicate. The first ``n`` survivors in
    score order form the list.

    Args:
        items: ``(B, K, M)`` candidate item ids (0 = empty slot).
        scores: ``(B, K, M)`` their scores (``-inf`` for empty slots).
        n: length of the merged list.

    Returns:
        ``(items, scores)``, both ``(B, n)``, best first; empty slots are item 0 / ``-inf``.
    """
    batch = items.shape[0]
    flat_items = items.reshape(batch, -1)  # (B, K M)
    flat_scores = scores.reshape(batch, -1)  # (B, K M)
    if flat_items.shape[1] < n:
        pad = n - flat_items.shape[1]
        flat_items = torch.cat([flat_items, flat_items.new_full((batch, pad), EMPTY_ITEM)], dim=1)
        flat_scores = torch.cat([flat_scores, flat_scores.new_full((batch, pad), float("-inf"))], dim=1)
    by_score_s, order = flat_scores.sort(dim=1, descending=True, stable=True)  # (B, KM)
    by_score_i = flat_items.gather(1, order)  # (B, KM)
    item_sorted, perm = by_score_i.sort(dim=1, stable=True)  # (B, KM), runs of equal items
    first = torch.ones_like(item_sorted, dtype=torch.bool)
    first[:, 1:] = item_sorted[:, 1:] != item_sorted[:, :-1]
    keep = torch.empty_like(first).scatter_(1, perm, first)  # back to score order
    keep &= by_score_i != EMPTY_ITEM
    # survivors first, in score order (stable), then take n
    _, pick = (~keep).to(torch.int8).sort(dim=1, stable=True)
    pick = pick[:, :n]  # (B, n)
    out_items = by_score_i.gather(1, pick)
    out_scores = by_score_s.gather(1, pick)
    dropped = ~keep.gather(1, pick)
    out_items = out_items.masked_fill(dropped, EMPTY_ITEM)
    out_scores = out_scores.masked_fill(dropped, float("-inf"))
    return out_items, out_scores


def multi_interest_topn(
    interests: Tensor,
    item_emb: Tensor,
    n: int,
    exclude: CSR | None = None,
    block_size: int | None = None,
    index: FaissItemIndex | None = None,
) -> tuple[Tensor, Tensor]:
    """ComiRec retrieval: per-interest top-``n``, merged by score, duplicates dropped.

    Args:
        interests: ``(B, K, D)``.
        item_emb: ``(N + 1, D)``; row 0 (padding) is never retrieved.
        n: list length.
        exclude: optional CSR ``(indptr (B + 1,), items)`` of items row ``b`` must not get.
        block_size: items scored at once by the torch search (see :func:`interest_topn`).
        index: a :class:`FaissItemIndex` over the same ``item_emb`` to search with
            faiss instead of torch.

    Returns:
        ``(items, scores)``, both ``(B, n)``, best first; item 0 / ``-inf`` fill the
        slots when fewer than ``n`` items are retrievable.
    """
    if index is not None:
        items, scores = index.search(interests, n, exclude)  # (B, K, n)
    else:
        items, scores = interest_topn(interests, item_emb, n, exclude, block_size)  # (B, K, n)
    if items.shape[1] == 1:
        return items[:, 0], scores[:, 0]
    return merge_topn(items, scores, n)


class FaissItemIndex:
    """Exact inner-product index (``faiss.IndexFlatIP``) over items ``1..N``.

    Built once per evaluation; :meth:`search` returns per-interest top-n lists in
    the same format as :func:`interest_topn`.

    Args:
        item_emb: ``(N + 1, D)`` item table (row 0 = padding is not indexed).
    """

    def __init__(self, item_emb: Tensor) -> None:
        if not faiss_available():
            raise ImportError("faiss is not installed; pip install 'graphrec[faiss]' or use the torch search")
        import faiss

        self._faiss: Any = faiss
        table = item_emb[1:].detach().float().cpu().contiguous().numpy()  # (N, D)
        self.num_items = table.shape[0]
        self.index = faiss.IndexFlatIP(table.shape[1])
        self.index.add(table)

    def search(self, interests: Tensor, n: int, exclude: CSR | None = None) -> tuple[Tensor, Tensor]:
        """Per-interest top-``n``: ``(items, scores)``, both ``(B, K, n)``.

        With ``exclude``, each query asks for ``n`` plus the largest number of
        excluded items of any row, so that ``n`` survive the filtering.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        _check_finite(interests)
        batch, k, dim = interests.shape
        extra = int(exclude[0].diff().max()) if exclude is not None and batch else 0
        m = min(n + extra, self.num_items)
        queries = interests.detach().float().cpu().reshape(batch * k, dim).contiguous().numpy()  # (B K, D)
        dist, ids = self.index.search(queries, m)
        scores = torch.from_numpy(dist).reshape(batch, k, m).to(interests.device)  # (B, K, m)
        items = torch.from_numpy(ids).long().reshape(batch, k, m).to(interests.device) + 1  # (B, K, m)
        invalid = items <= 0  # faiss marks missing results with id -1
        if exclude is not None:
            ex_rows, ex_items = _exclude_rows(exclude, batch)
            stride = self.num_items + 1
            keys = torch.arange(batch, device=items.device)[:, None, None] * stride + items  # (B, K, m)
            invalid |= torch.isin(keys, ex_rows * stride + ex_items.to(items.device))
        scores = scores.masked_fill(invalid, float("-inf"))
        scores, order = scores.sort(dim=-1, descending=True, stable=True)  # (B, K, m)
        items = items.gather(-1, order).masked_fill(scores == float("-inf"), EMPTY_ITEM)
        if m < n:
            pad = n - m
            items = torch.cat([items, items.new_full((batch, k, pad), EMPTY_ITEM)], dim=-1)
            scores = torch.cat([scores, scores.new_full((batch, k, pad), float("-inf"))], dim=-1)
        return items[..., :n], scores[..., :n]
