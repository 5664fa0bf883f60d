"""``benchmarks/multi_interest_scale.py`` at a tiny size: the record it writes and its overlap measure.

The script is imported from ``benchmarks/`` and its ``main(argv)`` is called in-process
(one torch thread: the sizes are tiny and threads only add contention).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch

from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.models.comirec import ComiRecSA


@pytest.fixture(scope="module")
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("multi_interest_scale")


@pytest.fixture()
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_topn_overlap_closed_form(bench: ModuleType) -> None:
    a = torch.tensor([[1, 2, 3]])
    assert bench.topn_overlap(a, torch.tensor([[3, 4, 5]])) == pytest.approx(1 / 3)
    assert bench.topn_overlap(a, torch.tensor([[3, 2, 1]])) == 1.0  # order does not matter
    # two users: 1 of 3 and 0 of 3 shared -> mean 1/6
    two = bench.topn_overlap(torch.tensor([[1, 2, 3], [4, 5, 6]]), torch.tensor([[3, 9, 8], [7, 8, 9]]))
    assert two == pytest.approx(1 / 6)
    per_row = bench.topn_overlap_per_row(torch.tensor([[1, 2, 3], [4, 5, 6]]),
                                         torch.tensor([[3, 9, 8], [4, 5, 6]]))
    assert per_row.tolist() == pytest.approx([1 / 3, 1.0])
    # empty slots (item 0) are never shared; the denominator stays n
    assert bench.topn_overlap(torch.tensor([[7, 0, 0]]), torch.tensor([[7, 0, 0]])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="same shape"):
        bench.topn_overlap(a, torch.tensor([[1, 2]]))


def test_same_backend_overlap_is_one(bench: ModuleType) -> None:
    generator = torch.Generator().manual_seed(0)
    interests = torch.randn(37, 4, 8, generator=generator)
    item_emb = torch.randn(301, 8, generator=generator)
    first, _ = bench.retrieve(interests, item_emb, 50, batch_size=16, progress=False)
    again, _ = bench.retrieve(interests, item_emb, 50, batch_size=37, progress=False)
    assert first.shape == (37, 50)
    assert bench.topn_overlap(first, again) == 1.0
    assert 0.0 <= bench.topn_overlap(first, first.flip(0)) < 1.0


def test_retrieval_without_faiss_records_null(bench: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                              one_thread: None) -> None:
    monkeypatch.setattr(bench, "faiss_available", lambda: False)
    split = UserSplit.build(generate_synthetic(num_users=120, num_items=90), max_len=20)
    model = ComiRecSA(split.num_items, hidden_size=16, max_len=20, num_negatives=32)
    out = bench.retrieval_benchmark(model, split, eval_users=1000, topn=50, batch_size=8, seed=0,
                                    memory=bench.StageMemory(), progress=False)
    assert out["faiss"] is None and "not installed" in out["faiss_reason"]
    assert out["overlap"] is None
    assert out["users"] == out["users_available"] == split.test.num_rows  # capped at the group's size
    assert out["torch"]["queries_per_s"] > 0
    assert set(out["torch"]["metrics"]) >= {"Recall@20", "Recall@50", "HR@50", "NDCG@50"}


def test_main_tiny_record(bench: ModuleType, tmp_path: Path, one_thread: None) -> None:
    record = bench.main([
        "--rows", "20000", "--users", "1000", "--items", "2000", "--categories", "50",
        "--eval-users", "100", "--max-steps", "3", "--name", "tiny", "--results-dir", str(tmp_path),
        "--no-progress",
    ])
    path = tmp_path / "tiny.json"
    assert json.loads(path.read_text()) == record
    for key in ("name", "command", "commit", "date", "machine", "benchmark", "params", "model", "dataset",
                "timings", "train", "retrieval", "process_peak_rss_mib"):
        assert key in record, key
    assert record["params"]["rows"] == 20000 and record["params"]["kcore"] == 5
    assert record["model"]["name"] == "comirec_sa"
    options = record["model"]["options"]
    assert options["num_interests"] == 4 and options["hidden_size"] == 64
    assert options["max_len"] == 50 and options["num_negatives"] == 1280
    assert record["params"]["sparse"] is True and options["sparse_items"] is True  # the default
    summary = record["dataset"]["convert"]["summary"]
    assert 0 < summary["num_items"] <= 2000 and summary["min_length"] >= 5  # 5-core
    assert record["dataset"]["split"]["protocol"] == "user"

    train = record["train"]
    assert train["item_table"] == "sparse" and train["optimizer"] == "lazy_adam"
    assert train["steps"] == 3 and train["capped"] is True
    assert train["steps_per_epoch"] == -(-train["train_rows"] // 128) > 3
    assert train["rows"] == 3 * 128 and train["rows_per_s"] > 0
    assert train["extrapolated_epoch_seconds"] is not None
    assert train["memory"]["peak_rss_mib"] > 0

    retrieval = record["retrieval"]
    assert retrieval["users"] == min(100, record["dataset"]["split"]["test_rows"])
    assert retrieval["torch"]["queries_per_s"] > 0
    if retrieval["faiss"] is None:
        assert retrieval["faiss_reason"] and retrieval["overlap"] is None
    else:
        assert retrieval["faiss"]["queries_per_s"] > 0
        assert 0.0 <= retrieval["overlap"]["min"] <= retrieval["overlap"]["mean"] <= 1.0


def test_sparse_and_dense_training_are_recorded(bench: ModuleType, one_thread: None) -> None:
    assert bench.parse_args([]).sparse is True
    assert bench.parse_args(["--dense"]).sparse is False
    assert bench.parse_args(["--sparse"]).sparse is True
    with pytest.raises(SystemExit):
        bench.parse_args(["--sparse", "--dense"])
    split = UserSplit.build(generate_synthetic(num_users=120, num_items=90), max_len=20)
    for sparse, optimizer in ((True, "lazy_adam"), (False, "adam")):
        torch.manual_seed(0)
        model = ComiRecSA(split.num_items, hidden_size=16, max_len=20, num_negatives=32, sparse_items=sparse)
        before = model.item.weight.detach().clone()
        out = bench.train_one_epoch(model, split, batch_size=16, lr=1e-3, seed=0, max_steps=2, progress=False,
                                    optimizer_name=optimizer)
        assert out["item_table"] == ("sparse" if sparse else "dense") and out["optimizer"] == optimizer
        assert bool((model.item.weight.detach() != before).any())
        assert model.item.weight.grad is not None and model.item.weight.grad.is_sparse == sparse
    with pytest.raises(ValueError, match="lazy_adam"):
        bench.train_one_epoch(ComiRecSA(split.num_items, hidden_size=16, max_len=20, num_negatives=32,
                                        sparse_items=True), split, 16, 1e-3, 0, max_steps=1, progress=False)
