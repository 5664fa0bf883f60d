"""result.json keeps the per-user test ranks (files beside it) and head/tail test metrics."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrec.data.load import load_dataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.user_split import UserSplit
from graphrec.eval.head_tail import head_users
from graphrec.eval.metrics import metric_names
from graphrec.eval.ranks import metrics_from_ranks
from graphrec.experiment.runner import RANK_FILES, USER_VALUE_FILES, ExperimentConfig, run_experiment

DATA_OPTIONS = {"num_users": 70, "num_items": 40, "num_categories": 9, "num_intents": 3, "mean_length": 6.0,
                "seed": 2}


def _cfg(out: Path, **kw: Any) -> ExperimentConfig:
    base: dict[str, Any] = {
        "data": "synthetic", "data_options": DATA_OPTIONS,
        "model": {"name": "sasrec", "hidden_size": 8, "num_layers": 1},
        "train": {"epochs": 1, "batch_size": 32, "progress": False, "max_len": 10, "eval_batch_size": 16},
        "output_dir": str(out),
    }
    base.update(kw)
    return ExperimentConfig.from_dict(base)


@pytest.mark.parametrize("mask", [False, True])
def test_ranks_and_groups_beside_the_result(tmp_path: Path, mask: bool) -> None:
    out = tmp_path / "run"
    result = run_experiment(_cfg(out, mask_history_eval=mask))
    on_disk = json.loads((out / "result.json").read_text())
    num_users = on_disk["metrics"]["test"]["num_users"]
    checksums = on_disk["ranks"].pop("sha256")
    assert on_disk["ranks"] == {**RANK_FILES, "base": 1, "dtype": "int32", "num_users": num_users}
    assert checksums == {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
                         for name in RANK_FILES.values()}
    on_disk["ranks"]["sha256"] = checksums
    split = LeaveOneOutSplit.build(load_dataset("synthetic", **DATA_OPTIONS), max_len=10)
    users = np.load(out / on_disk["ranks"]["users"], allow_pickle=False)
    assert users.dtype == np.int32
    np.testing.assert_array_equal(users, split.eval_users)
    head = head_users(split)
    for variant in ("test_masked", "test_unmasked"):
        ranks = np.load(out / on_disk["ranks"][variant], allow_pickle=False)
        assert ranks.dtype == np.int32 and ranks.shape == users.shape and ranks.min() >= 1
        assert ranks.max() <= split.num_items
        again = metrics_from_ranks(ranks, block_size=16)  # the evaluation's blocks: bit-identical
        for key in metric_names():
            assert again[key] == on_disk["metrics"][variant][key], (variant, key)
        groups = on_disk["metrics"][f"{variant}_by_group"]
        is_head = head[users]
        assert groups["head"]["num_users"] == int(is_head.sum()) > 0
        assert groups["tail"]["num_users"] == int((~is_head).sum()) > 0
        assert groups["head_ratio"] == 0.2 and groups["head_share"] == pytest.approx(is_head.mean())
        for key in metric_names():
            assert groups["head"][key] == metrics_from_ranks(ranks[is_head])[key]
            mixed = (groups["head"][key] * groups["head"]["num_users"]
                     + groups["tail"][key] * groups["tail"]["num_users"]) / len(ranks)
            assert mixed == pytest.approx(on_disk["metrics"][variant][key], rel=1e-12)
    chosen = "test_masked" if mask else "test_unmasked"
    assert on_disk["metrics"]["test"] == on_disk["metrics"][chosen]
    assert result["ranks"] == on_disk["ranks"]
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_user_protocol_keeps_per_user_values_instead_of_ranks(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_experiment(_cfg(out, protocol="user", protocol_options={"seed": 0}))
    assert "ranks" not in result and "test_masked_by_group" not in result["metrics"]
    assert not list(out.glob("ranks_*.npy"))
    files = json.loads((out / "result.json").read_text())["per_user"]
    names = {files[k] for k in ("users", "test_masked", "test_unmasked")}
    assert files == result["per_user"] and names == set(USER_VALUE_FILES.values())
    split = UserSplit.build(load_dataset("synthetic", **DATA_OPTIONS), max_len=10, seed=0)
    users = np.load(out / files["users"], allow_pickle=False)
    np.testing.assert_array_equal(users, split.test.users)  # every test user, in the split's order
    assert files["num_users"] == len(users) == result["metrics"]["test"]["num_users"]
    for variant in ("test_masked", "test_unmasked"):
        values = np.load(out / files[variant], allow_pickle=False)  # (U, M) float64
        assert values.dtype == np.float64 and values.shape == (len(users), len(files["metrics"]))
        for j, name in enumerate(files["metrics"]):  # each column's mean is the recorded metric
            recorded = result["metrics"][variant][name]
            assert values[:, j].mean() == pytest.approx(recorded, rel=1e-12, abs=1e-15)
        recall = values[:, files["metrics"].index("Recall@20")]
        assert recall.min() >= 0.0 and recall.max() <= 1.0
