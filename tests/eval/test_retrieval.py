"""Multi-interest retrieval: per-interest top-N, merge with duplicates, blocking, faiss glue."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import numpy as np
import pytest
import torch

import graphrec.eval.retrieval as retrieval
from graphrec.eval.retrieval import (
    FaissItemIndex,
    interest_topn,
    merge_topn,
    multi_interest_topn,
)

NEG_INF = float("-inf")


def _toy() -> tuple[torch.Tensor, torch.Tensor]:
    """Two orthogonal interests and 5 items; item 3 is retrieved by both with different scores.

    Scores (interest 1 / interest 2): item1 3/0, item2 0/2.5, item3 2/1.5, item4 1/-1, item5 -1/1.25;
    the padding row scores 100 and must never appear.
    """
    interests = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # (1, 2, 2)
    items = torch.tensor([[100.0, 100.0], [3, 0], [0, 2.5], [2, 1.5], [1, -1], [-1, 1.25]])  # (6, 2)
    return interests, items


def test_interest_topn_hand_worked() -> None:
    interests, items = _toy()
    top_items, top_scores = interest_topn(interests, items, 3)
    assert top_items.tolist() == [[[1, 3, 4], [2, 3, 5]]]
    assert top_scores.tolist() == [[[3.0, 2.0, 1.0], [2.5, 1.5, 1.25]]]


def test_merge_drops_duplicates_keeping_max_score() -> None:
    interests, items = _toy()
    got_items, got_scores = multi_interest_topn(interests, items, 3)
    # candidates 1:3, 3:2, 4:1 | 2:2.5, 3:1.5, 5:1.25 -> item 3 kept once with max(2, 1.5)
    assert got_items.tolist() == [[1, 2, 3]]
    assert got_scores.tolist() == [[3.0, 2.5, 2.0]]
    got_items, got_scores = multi_interest_topn(interests, items, 4)
    assert got_items.tolist() == [[1, 2, 3, 5]]
    assert got_scores.tolist() == [[3.0, 2.5, 2.0, 1.25]]


def test_merge_topn_on_hand_made_candidates() -> None:
    # the better copy of item 3 comes from the second interest; item 7 appears twice
    items = torch.tensor([[[7, 3, 5], [3, 9, 7]]])
    scores = torch.tensor([[[0.9, 0.5, 0.1], [0.8, 0.7, 0.6]]])
    out_items, out_scores = merge_topn(items, scores, 3)
    assert out_items.tolist() == [[7, 3, 9]]
    assert torch.allclose(out_scores, torch.tensor([[0.9, 0.8, 0.7]]))
    # fewer distinct candidates than n: empty slots are item 0 / -inf
    out_items, out_scores = merge_topn(items, scores, 5)
    assert out_items.tolist() == [[7, 3, 9, 5, 0]]
    assert out_scores[0, 4] == NEG_INF
    # rows are independent (vectorised over users)
    both_items, _ = merge_topn(torch.cat([items, items.flip(-1)]), torch.cat([scores, scores]), 2)
    assert both_items.tolist() == [[7, 3], [5, 7]]


def test_merged_list_equals_top_n_of_max_over_interests() -> None:
    gen = torch.Generator().manual_seed(0)
    interests = torch.randn(6, 4, 8, generator=gen)
    items = torch.randn(51, 8, generator=gen)
    expected_scores = torch.einsum("bkd,nd->bkn", interests, items).amax(dim=1)  # (6, 51)
    expected_scores[:, 0] = NEG_INF
    exp_s, exp_i = expected_scores.topk(10, dim=1)
    for block in (None, 7, 50, 1000):
        got_i, got_s = multi_interest_topn(interests, items, 10, block_size=block)
        assert torch.equal(got_i, exp_i)
        assert torch.allclose(got_s, exp_s)
    # prefix property: merged top-5 = first 5 of merged top-10
    assert torch.equal(multi_interest_topn(interests, items, 5)[0], exp_i[:, :5])


def test_single_interest_and_short_catalogue() -> None:
    interests = torch.tensor([[[1.0, 2.0]]])  # K = 1
    items = torch.tensor([[50.0, 50.0], [1, 0], [0, 1]])  # N = 2
    got_items, got_scores = multi_interest_topn(interests, items, 4)
    assert got_items.tolist() == [[2, 1, 0, 0]]
    assert got_scores[0, :2].tolist() == [2.0, 1.0] and bool(torch.isinf(got_scores[0, 2:]).all())


def test_exclude_rows_csr() -> None:
    interests, items = _toy()
    interests = interests.repeat(2, 1, 1)  # (2, 2, 2)
    exclude = (torch.tensor([0, 2, 2]), torch.tensor([1, 3]))  # row 0 must not get items 1 and 3
    got_items, _ = multi_interest_topn(interests, items, 3, exclude=exclude, block_size=2)
    assert got_items.tolist() == [[2, 5, 4], [1, 2, 3]]
    with pytest.raises(ValueError, match="batch size"):
        multi_interest_topn(interests, items, 3, exclude=(torch.tensor([0, 1]), torch.tensor([1])))


def test_refuses_nan_and_bad_n() -> None:
    interests, items = _toy()
    with pytest.raises(ValueError, match="NaN"):
        multi_interest_topn(interests * float("nan"), items, 3)
    with pytest.raises(ValueError, match="n must be"):
        multi_interest_topn(interests, items, 0)


class _FakeIndexFlatIP:
    """Brute-force stand-in for ``faiss.IndexFlatIP`` (numpy), to test the glue code."""

    def __init__(self, dim: int) -> None:
        self.table = np.zeros((0, dim), dtype=np.float32)

    def add(self, x: np.ndarray) -> None:
        self.table = np.concatenate([self.table, x])

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = q @ self.table.T
        ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        dist = np.take_along_axis(scores, ids, axis=1)
        if k > self.table.shape[0]:  # faiss pads with -1 ids
            pad = k - self.table.shape[0]
            ids = np.concatenate([ids, -np.ones((len(q), pad), dtype=ids.dtype)], axis=1)
            dist = np.concatenate([dist, np.full((len(q), pad), -np.inf, dtype=dist.dtype)], axis=1)
        return dist.astype(np.float32), ids.astype(np.int64)


@pytest.fixture
def fake_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("faiss")
    module.__spec__ = importlib.machinery.ModuleSpec("faiss", None)
    module.IndexFlatIP = _FakeIndexFlatIP  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "faiss", module)


@pytest.mark.usefixtures("fake_faiss")
def test_faiss_index_path_matches_torch() -> None:
    interests, items = _toy()
    index = FaissItemIndex(items)
    got_items, got_scores = multi_interest_topn(interests, items, 4, index=index)
    assert got_items.tolist() == [[1, 2, 3, 5]]
    assert torch.allclose(got_scores, torch.tensor([[3.0, 2.5, 2.0, 1.25]]))
    exclude = (torch.tensor([0, 2]), torch.tensor([1, 3]))
    got_items, _ = multi_interest_topn(interests, items, 3, exclude=exclude, index=index)
    assert got_items.tolist() == [[2, 5, 4]]
    got_items, got_scores = multi_interest_topn(interests, items, 7, index=index)  # n > N
    assert got_items[0, 5:].tolist() == [0, 0] and bool(torch.isinf(got_scores[0, 5:]).all())


def test_faiss_index_without_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graphrec.eval.retrieval.faiss_available", lambda: False)
    with pytest.raises(ImportError, match="faiss"):
        FaissItemIndex(torch.zeros(3, 2))


def test_default_blocking_chunks_users_within_the_score_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default cuts items into near-equal blocks and users into chunks; the lists are unchanged."""
    generator = torch.Generator().manual_seed(3)
    interests = torch.randn(23, 3, 8, generator=generator)
    items = torch.randn(101, 8, generator=generator)  # N = 100
    lengths = torch.randint(0, 6, (23,), generator=generator)
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    exclude = (indptr, torch.randint(1, 101, (int(indptr[-1]),), generator=generator))
    single = interest_topn(interests, items, 7, exclude, block_size=100)  # one block, all users
    merged = multi_interest_topn(interests, items, 7, exclude, block_size=100)
    sizes: list[tuple[int, int]] = []
    einsum = torch.einsum

    def spy(equation: str, *operands: torch.Tensor) -> torch.Tensor:
        out = einsum(equation, *operands)
        sizes.append((out.shape[0], out.shape[2]))  # (users, items) of one pass
        return out

    monkeypatch.setattr(retrieval, "MAX_ITEM_BLOCK", 40)  # -> 3 blocks of 34, 34, 32 items
    monkeypatch.setattr(retrieval, "SCORE_BUDGET", 3 * 34 * 5)  # -> 5 users per pass
    monkeypatch.setattr(retrieval.torch, "einsum", spy)
    chunked = interest_topn(interests, items, 7, exclude)
    # the same lists; scores equal up to float rounding (a matmul over fewer rows may round differently)
    assert torch.equal(chunked[0], single[0])
    torch.testing.assert_close(chunked[1], single[1], rtol=1e-6, atol=1e-6)
    assert max(u * 3 * n for u, n in sizes) <= 3 * 34 * 5
    assert {n for _, n in sizes} == {34, 32} and [u for u, _ in sizes[::3]] == [5, 5, 5, 5, 3]
    got = multi_interest_topn(interests, items, 7, exclude)
    assert torch.equal(got[0], merged[0])
    torch.testing.assert_close(got[1], merged[1], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="batch size"):  # the CSR is checked before it is cut
        interest_topn(interests, items, 7, (indptr[:-1], exclude[1]))
