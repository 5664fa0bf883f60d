"""Per-user leave-one-out ranks: by hand, metrics from ranks equal to the evaluation's, files, sharding."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.distributed import DistInfo, shard
from graphrec.eval.loo import evaluate_loo
from graphrec.eval.metrics import metric_names
from graphrec.eval.ranks import check_ranks, load_ranks, metric_values, metrics_from_ranks, save_ranks
from graphrec.eval.sharded import gather_strided, interleave_strided
from graphrec.models.base import SequentialRecommender

WORKER = Path(__file__).with_name("sharded_ranks_worker.py")

# items 1..6 ranked by score: 6 > 5 > 4 > 3 > 2 > 1 (as tests/eval/test_loo.py)
TABLE = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
SEQS = [[1, 2, 6, 5], [6, 4, 3, 1], [2, 5, 2], [3, 4]]


def _fixed_scores() -> SequentialRecommender:
    path = Path(__file__).with_name("test_loo.py")
    spec = importlib.util.spec_from_file_location("graphrec_tests_loo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FixedScores(TABLE)  # type: ignore[no-any-return]


def _load_worker() -> Any:
    spec = importlib.util.spec_from_file_location("graphrec_tests_ranks_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(SequenceDataset.from_sequences(SEQS, num_items=6), max_len=3)


def test_ranks_by_hand(split: LeaveOneOutSplit) -> None:
    model = _fixed_scores()
    test = evaluate_loo(model, split, "test", batch_size=2, return_ranks=True)
    np.testing.assert_array_equal(test["ranks"], [2, 6, 5])  # 0-based 1, 5, 4 of test_loo.py
    assert test["ranks"].dtype == np.int64
    masked = evaluate_loo(model, split, "test", batch_size=1, mask_history=True, return_ranks=True)
    # user 0: {1, 2, 6} masked, 5 first; user 1: {6, 4, 3} masked -> 5, 2, 1: rank 3; user 2: target masked
    np.testing.assert_array_equal(masked["ranks"], [1, 3, 6])
    rows = evaluate_loo(model, split, "test", rows=np.array([2, 0]), return_ranks=True)
    np.testing.assert_array_equal(rows["ranks"], [5, 2])  # in the order of the rows asked for


def test_return_ranks_changes_no_metric(split: LeaveOneOutSplit) -> None:
    model = _fixed_scores()
    for mask in (False, True):
        plain = evaluate_loo(model, split, "valid", batch_size=2, mask_history=mask)
        with_ranks = evaluate_loo(model, split, "valid", batch_size=2, mask_history=mask, return_ranks=True)
        with_ranks.pop("ranks")
        for key in metric_names() + ["num_users", "mask_history"]:
            assert with_ranks[key] == plain[key], key


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_metrics_from_ranks_equal_the_evaluation_exactly(batch_size: int) -> None:
    worker = _load_worker()
    big = worker.make_split(num_users=150, num_items=40)
    scorer = worker.TableScorer(big.num_items, seed=1)
    for mask in (False, True):
        result = evaluate_loo(scorer, big, "test", batch_size=batch_size, mask_history=mask,
                              return_ranks=True, ks=(1, 5, 10, 20))
        ranks = result.pop("ranks")
        assert len(ranks) == big.num_eval_rows == result["num_users"]
        again = metrics_from_ranks(ranks, (1, 5, 10, 20), block_size=batch_size)
        for key in metric_names((1, 5, 10, 20)):
            assert again[key] == result[key], (key, again[key], result[key])  # bit-identical
        whole = metrics_from_ranks(ranks, (1, 5, 10, 20))
        for key in metric_names((1, 5, 10, 20)):
            assert whole[key] == pytest.approx(result[key], rel=1e-12, abs=0)
            assert metric_values(ranks, key).mean() == pytest.approx(result[key], rel=1e-12, abs=0)
        assert whole["num_users"] == len(ranks)


def test_metric_values_by_hand() -> None:
    ranks = np.array([1, 2, 10, 11])
    np.testing.assert_array_equal(metric_values(ranks, "HR@10"), [1, 1, 1, 0])
    np.testing.assert_allclose(metric_values(ranks, "NDCG@10"), [1, 1 / np.log2(3), 1 / np.log2(11), 0])
    np.testing.assert_allclose(metric_values(ranks, "MRR"), [1, 1 / 2, 1 / 10, 1 / 11])
    with pytest.raises(ValueError, match="unknown metric"):
        metric_values(ranks, "Recall@10")
    with pytest.raises(ValueError, match="1-based"):
        check_ranks(np.array([0, 1]))
    empty = metrics_from_ranks(np.zeros(0, dtype=np.int64))
    assert empty["num_users"] == 0 and np.isnan(empty["MRR"])


def test_save_and_load_ranks(tmp_path: Path) -> None:
    path = save_ranks(tmp_path / "r.npy", np.array([3, 1, 2], dtype=np.int64))
    raw = np.load(path, allow_pickle=False)
    assert raw.dtype == np.int32 and raw.tolist() == [3, 1, 2]
    assert load_ranks(path).tolist() == [3, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["r.npy"]  # no temporary left
    with pytest.raises(ValueError, match="out of the range"):
        save_ranks(tmp_path / "big.npy", np.array([2**40]))
    np.save(tmp_path / "f.npy", np.array([1.5]))
    with pytest.raises(ValueError, match="integer"):
        load_ranks(tmp_path / "f.npy")


@pytest.mark.parametrize("total, world", [(0, 2), (1, 2), (7, 1), (7, 2), (10, 3), (3, 4)])
def test_interleave_inverts_the_strided_shard(total: int, world: int) -> None:
    rows = np.arange(total) * 10
    parts = [shard(rows, DistInfo(rank=r, world_size=world)) for r in range(world)]
    np.testing.assert_array_equal(interleave_strided(parts, total), rows)
    with pytest.raises(ValueError, match="expected"):
        interleave_strided(parts, total + world)  # every part one row short
    np.testing.assert_array_equal(gather_strided(rows, total, shard=True), rows)  # one process: as is


def _run(args: list[str], out: Path) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, *args, str(WORKER), str(out)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:  # one retry: the rendezvous port can race with other jobs on the host
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_two_ranks_gather_the_ranks_in_user_order(tmp_path: Path) -> None:
    single = _run([], tmp_path / "single.json")
    ddp = _run(["-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"], tmp_path / "ddp.json")
    assert single["world_size"] == 1 and ddp["world_size"] == 2
    assert ddp["ranks"] == single["ranks"] and len(ddp["ranks"]) == single["metrics"]["num_users"]
    for key in metric_names():
        assert ddp["metrics"][key] == pytest.approx(single["metrics"][key], rel=1e-12)
        again = metrics_from_ranks(np.array(ddp["ranks"]))[key]
        assert again == pytest.approx(ddp["metrics"][key], rel=1e-12)
