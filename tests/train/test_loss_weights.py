"""Loss-weight schedules: closed forms, config parsing, logging and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.train.config import TrainConfig
from graphrec.train.loss_weights import LossWeight, normalize_loss_weights, weight_at
from graphrec.train.trainer import Trainer
from tests.train import ddp_worker as worker


def test_schedules_closed_form() -> None:
    assert [LossWeight(0.5).at(e) for e in (1, 7)] == [0.5, 0.5]
    warm = LossWeight(0.4, "warmup", warmup_epochs=4)
    assert [warm.at(e) for e in range(1, 7)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])
    late = LossWeight(1.0, "warmup", start_epoch=3, warmup_epochs=2)
    assert [late.at(e) for e in range(1, 6)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    step = LossWeight(2.0, "step", milestones=(2, 4), gamma=0.5)
    assert [step.at(e) for e in range(1, 6)] == [2.0, 1.0, 1.0, 0.5, 0.5]
    assert LossWeight(0.3, start_epoch=2).at(1) == 0.0 and LossWeight(0.3, start_epoch=2).at(2) == 0.3


def test_config_forms_and_errors() -> None:
    cfg = TrainConfig(loss_weights={"rec": 1, "cl": {"weight": 0.1, "schedule": "warmup",
                      "warmup_epochs": 5}})
    assert cfg.loss_weights["rec"] == 1.0 and isinstance(cfg.loss_weights["rec"], float)
    assert cfg.loss_weights["cl"]["schedule"] == "warmup"
    assert weight_at(cfg.loss_weights, "cl", 2) == pytest.approx(0.04)
    assert weight_at(cfg.loss_weights, "absent", 2) == 1.0
    assert normalize_loss_weights({"a": {"weight": 2.0}}) == {"a": 2.0}  # constant from epoch 1 = a number
    text = "{cl: {weight: 0.2, schedule: step, milestones: [3]}}"
    from_yaml = TrainConfig.from_dict({"loss_weights": text})
    assert weight_at(from_yaml.loss_weights, "cl", 3) == pytest.approx(0.02)
    for bad, message in [({"cl": {"weight": 1, "shedule": "step"}}, "unknown key"),
                         ({"cl": {"schedule": "cosine"}}, "schedule must be one of"),
                         ({"cl": "lots"}, "expected a number"),
                         ({"cl": True}, "boolean"),
                         ({"cl": {"schedule": "step", "milestones": [5, 2]}}, "increasing")]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(loss_weights=bad)


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(worker.make_dataset(num_users=60, num_items=25), max_len=8)


def _fit(split: LeaveOneOutSplit, **kw: Any) -> dict[str, Any]:
    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8)
    cfg = TrainConfig(**{**dict(epochs=3, batch_size=16, lr=0.01, seed=1, progress=False, patience=0,
                                eval_batch_size=32), **kw})
    return Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()


def test_trainer_applies_and_logs_the_weight_of_each_epoch(split: LeaveOneOutSplit) -> None:
    result = _fit(split, loss_weights={"norm": {"weight": 0.3, "schedule": "warmup", "warmup_epochs": 3}})
    for record, weight in zip(result["history"], [0.1, 0.2, 0.3], strict=True):
        assert record["weight/norm"] == pytest.approx(weight)
        assert record["loss"] == pytest.approx(record["loss/ce"] + weight * record["loss/norm"], rel=1e-6)
    constant = _fit(split, loss_weights={"norm": 0.3})
    assert "weight/norm" not in constant["history"][0]


def test_schedule_continues_exactly_after_resume(split: LeaveOneOutSplit, tmp_path: Path) -> None:
    weights = {"norm": {"weight": 0.5, "schedule": "step", "milestones": [2, 3], "gamma": 0.1}}
    straight = _fit(split, epochs=4, loss_weights=weights)

    class Stop(Exception):
        pass

    def stop(record: dict[str, Any]) -> None:
        if record["epoch"] == 2:
            raise Stop

    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8)
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.01, seed=1, progress=False, patience=0,
                      eval_batch_size=32, loss_weights=weights, checkpoint_dir=str(tmp_path))
    with pytest.raises(Stop):
        Trainer(model, split, cfg, on_epoch_end=stop, evaluator=loo_evaluator(split)).fit()
    resumed = Trainer(worker.TinyMean(split.num_items, dim=8), split, cfg.replace(resume=True),
                      evaluator=loo_evaluator(split)).fit()
    assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in straight["history"]]
    assert [r["weight/norm"] for r in resumed["history"]] == pytest.approx([0.5, 0.05, 0.005, 0.005])
