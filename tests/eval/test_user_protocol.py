"""User-split metrics: Recall/HR/NDCG/Diversity on hand-made lists, end-to-end evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from graphrec.data.dataset import SequenceDataset
from graphrec.data.user_split import UserSplit
from graphrec.eval.user_protocol import (
    add_sums,
    evaluate_user_split,
    finalize_user_metrics,
    list_diversity,
    list_metric_sums,
    list_metric_values,
    target_hits,
    user_metric_sums,
)

G2, G3, G4 = 1.0, 1.0 / math.log2(3), 1.0 / math.log2(5)  # discounts at ranks 0, 1, 3
G_RANK2 = 0.5  # 1 / log2(4)


def _csr(rows: list[list[int]]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    return indptr, torch.tensor([i for r in rows for i in r], dtype=torch.long)


def test_target_hits() -> None:
    lists = torch.tensor([[5, 3, 9, 1], [2, 4, 0, 0]])
    indptr, items = _csr([[3, 1, 7], [4]])
    hits = target_hits(lists, indptr, items)
    assert hits.tolist() == [[False, True, False, True], [False, True, False, False]]


def test_recall_hr_ndcg_hand_worked() -> None:
    lists = torch.tensor([[5, 3, 9, 1], [2, 4, 6, 8], [1, 2, 3, 4]])
    indptr, items = _csr([[3, 1, 7], [4], [9]])
    sums = list_metric_sums(lists, indptr, items, ns=(2, 4))
    # row 0: hits at ranks 1 and 3 of 3 targets
    #   @2: recall 1/3, DCG = 1/log2(3), IDCG over min(3, 2) = 2 -> 1 + 1/log2(3)
    #   @4: recall 2/3, DCG = 1/log2(3) + 1/log2(5), IDCG over 3 -> 1 + 1/log2(3) + 1/2
    # row 1: one target at rank 1 -> recall 1, NDCG 1/log2(3) (IDCG = 1) at both cut-offs
    # row 2: no hit
    ndcg0_2 = G3 / (G2 + G3)
    ndcg0_4 = (G3 + G4) / (G2 + G3 + G_RANK2)
    assert sums["count"] == 3
    assert sums["Recall@2"] == pytest.approx(1 / 3 + 1)
    assert sums["Recall@4"] == pytest.approx(2 / 3 + 1)
    assert sums["HR@2"] == 2 and sums["HR@4"] == 2
    assert sums["NDCG@2"] == pytest.approx(ndcg0_2 + G3)
    assert sums["NDCG@4"] == pytest.approx(ndcg0_4 + G3)
    assert ndcg0_4 == pytest.approx(0.498189, abs=1e-6)
    means = finalize_user_metrics(sums)
    assert means["HR@4"] == pytest.approx(2 / 3)
    # the same rows one by one (what paired comparisons of runs use), and handed out by the sums
    collected: list[dict[str, torch.Tensor]] = []
    again = list_metric_sums(lists, indptr, items, ns=(2, 4), values_out=collected)
    values = list_metric_values(lists, indptr, items, ns=(2, 4))
    assert again == sums and len(collected) == 1
    assert values["Recall@4"].tolist() == pytest.approx([2 / 3, 1.0, 0.0])
    assert values["HR@2"].tolist() == [1.0, 1.0, 0.0]
    assert values["NDCG@2"].tolist() == pytest.approx([ndcg0_2, G3, 0.0])
    assert values["NDCG@4"].tolist() == pytest.approx([ndcg0_4, G3, 0.0])
    for name, row in values.items():
        assert row.dtype == torch.float64 and float(row.sum()) == pytest.approx(sums[name], rel=1e-12)
        assert torch.equal(collected[0][name], row)
    assert means["NDCG@2"] == pytest.approx((ndcg0_2 + G3) / 3)


def test_perfect_list_has_ndcg_one_and_recall_capped_by_n() -> None:
    lists = torch.tensor([[4, 2, 3]])
    indptr, items = _csr([[2, 3, 4, 5, 6]])  # 5 targets, the list's 3 items all hit
    sums = list_metric_sums(lists, indptr, items, ns=(3,))
    assert sums["NDCG@3"] == pytest.approx(1.0)
    assert sums["Recall@3"] == pytest.approx(3 / 5)


def test_diversity_hand_worked() -> None:
    categories = torch.tensor([[1, 1, 2, 3], [1, 0, 2, 2], [0, 0, 4, 0], [5, 5, 5, 5]])
    diversity, defined = list_diversity(categories)
    # row 0: 6 pairs, one same-category pair -> 5/6; row 1: unknown category left out,
    # 3 known pairs (1,2) (1,2) (2,2) -> 2/3; row 2: one known item -> undefined; row 3: 0
    assert defined.tolist() == [True, True, False, True]
    assert diversity.tolist() == pytest.approx([5 / 6, 2 / 3, 0.0, 0.0])
    lists = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 0]])
    item_category = torch.tensor([0, 1, 1, 2, 3])
    indptr, items = _csr([[1], [2]])
    sums = list_metric_sums(lists, indptr, items, ns=(2, 4), item_category=item_category)
    # row 0 @4: cats [1,1,2,3] -> 5/6; row 1 @4: cats [1,1,2] (empty slot left out) -> 2/3; @2 both 0
    assert sums["Diversity@4"] == pytest.approx(5 / 6 + 2 / 3) and sums["diversity_count@4"] == 2
    assert sums["Diversity@2"] == 0 and sums["diversity_count@2"] == 2
    assert finalize_user_metrics(sums)["Diversity@4"] == pytest.approx((5 / 6 + 2 / 3) / 2)


def test_sums_are_mergeable_and_checked() -> None:
    lists = torch.tensor([[5, 3, 9, 1], [2, 4, 6, 8]])
    indptr, items = _csr([[3, 1, 7], [4]])
    whole = list_metric_sums(lists, indptr, items, ns=(2,))
    first = list_metric_sums(lists[:1], *_csr([[3, 1, 7]]), ns=(2,))
    second = list_metric_sums(lists[1:], *_csr([[4]]), ns=(2,))
    assert add_sums(first, second) == pytest.approx(whole)
    with pytest.raises(ValueError, match="different keys"):
        add_sums(first, {"count": 1.0})
    with pytest.raises(ValueError, match="at least one target"):
        list_metric_sums(lists, *_csr([[3], []]), ns=(2,))
    with pytest.raises(ValueError, match="cut-off"):
        list_metric_sums(lists, indptr, items, ns=(5,))


# ------------------------------------------------------------------ end to end
class _TableModel(nn.Module):
    """Interests looked up per user; item embeddings = identity, so interest k of user u
    *is* its vector of item scores (column 0 = padding, set high to check it never ranks)."""

    def __init__(self, table: Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table)  # (U, K, N + 1)

    def interests(self, batch) -> Tensor:  # noqa: ANN001
        return self.table[batch.user_ids]  # (B, K, N + 1)

    def item_embeddings(self) -> Tensor:
        return torch.eye(self.table.shape[-1])  # (N + 1, N + 1)

    def loss_terms(self, batch) -> dict[str, Tensor]:  # noqa: ANN001
        return {}


def _setup() -> tuple[UserSplit, _TableModel]:
    seqs = [
        [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [1, 3, 5],  # train
        [1, 2, 3, 4, 5],  # valid: history [1,2,3,4], target {5}
        [1, 2, 3, 4, 5, 6, 1, 2, 6, 3],  # test: history 8 items, targets {6, 3}
        [2, 4, 6, 1, 3],  # test: history [2,4,6,1], target {3}
        [5],  # test, skipped
    ]
    data = SequenceDataset.from_sequences(
        seqs, num_items=6, item_category=[0, 1, 1, 2, 2, 3, 3],
        user_split=np.array([0, 0, 0, 0, 1, 2, 2, 2], dtype=np.int8),
    )
    split = UserSplit.build(data, max_len=4)
    table = torch.zeros(8, 2, 7)
    table[:, :, 0] = 100.0  # padding column: must never be retrieved
    table[4] = torch.tensor([[100, 0.1, 0.2, 0.3, 0.4, 0.9, 0.0], [100, 0, 0, 0, 0, 0, 0.5]])
    # user 5: per-interest top-2 {1 (.9), 3 (.8)} and {6 (.7), 2 (.5)} -> merged [1, 3]
    table[5] = torch.tensor([[100, 0.9, 0.1, 0.8, 0.2, 0.3, 0.0], [100, 0.0, 0.5, 0.1, 0.2, 0.3, 0.7]])
    # user 6: {3 (.95), 4 (.3)} and {3 (.9), 5 (.6)} -> merged [3, 5]
    table[6] = torch.tensor([[100, 0.1, 0.2, 0.95, 0.3, 0.0, 0.0], [100, 0.0, 0.0, 0.9, 0.0, 0.6, 0.1]])
    return split, _TableModel(table)


def test_evaluate_user_split_end_to_end() -> None:
    split, model = _setup()
    model.train()
    result = evaluate_user_split(model, split, "test", ns=(1, 2), batch_size=1)
    assert model.training  # mode restored
    assert result["num_users"] == 2 and result["mask_history"] is False
    # user 5: list [1, 3], targets {6, 3}: @1 miss; @2 hit at rank 1, IDCG over 2
    # user 6: list [3, 5], target {3}: hit at rank 0 -> 1 everywhere
    assert result["Recall@1"] == pytest.approx(0.5) and result["HR@1"] == pytest.approx(0.5)
    assert result["NDCG@1"] == pytest.approx(0.5)
    assert result["Recall@2"] == pytest.approx((0.5 + 1) / 2) and result["HR@2"] == pytest.approx(1.0)
    assert result["NDCG@2"] == pytest.approx((G3 / (G2 + G3) + 1) / 2)
    # categories from the dataset: [1, 3] -> cats (1, 2), [3, 5] -> cats (2, 3): both distinct
    assert result["Diversity@2"] == pytest.approx(1.0)
    assert math.isnan(result["Diversity@1"])  # a single item has no pairs
    assert result["seconds"] > 0 and result["users_per_s"] > 0
    valid = evaluate_user_split(model, split, "valid", ns=(1,))
    assert valid["num_users"] == 1 and valid["HR@1"] == pytest.approx(1.0)  # item 5 first


def test_history_masking_and_explicit_categories() -> None:
    split, model = _setup()
    masked = evaluate_user_split(model, split, "test", ns=(2,), mask_history=True,
                                 item_category=np.array([0, 1, 1, 1, 1, 1, 1]))
    # user 5's history holds every item -> nothing retrievable; user 6 still gets [3, 5]
    assert masked["mask_history"] is True
    assert masked["Recall@2"] == pytest.approx(0.5) and masked["HR@2"] == pytest.approx(0.5)
    assert masked["Diversity@2"] == pytest.approx(0.0)  # one category everywhere; user 5 undefined


def test_row_shards_add_up() -> None:
    split, model = _setup()
    whole = user_metric_sums(model, split, "test", ns=(1, 2))
    parts = [user_metric_sums(model, split, "test", rows=np.array([r]), ns=(1, 2)) for r in (0, 1)]
    assert add_sums(*parts) == pytest.approx(whole)
    empty = user_metric_sums(model, split, "test", rows=np.array([], dtype=np.int64), ns=(1, 2))
    assert empty["count"] == 0 and math.isnan(finalize_user_metrics(empty)["Recall@1"])


def test_refuses_nan_and_bad_arguments() -> None:
    split, model = _setup()
    with torch.no_grad():
        model.table[5, 0, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        evaluate_user_split(model, split, "test", ns=(2,))
    with pytest.raises(ValueError, match="which"):
        evaluate_user_split(model, split, "train")
    with pytest.raises(ValueError, match="backend"):
        evaluate_user_split(model, split, "test", backend="annoy")
