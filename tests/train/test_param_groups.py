"""Optimizer parameter groups selected by name or module type."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphrec.eval.loo import loo_evaluator
from graphrec.train.config import TrainConfig
from graphrec.train.param_groups import build_param_groups, check_param_groups


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.item = nn.Embedding(5, 4)
        self.norm = nn.LayerNorm(4)
        self.proj = nn.Linear(4, 4)
        self.prototypes = nn.Parameter(torch.zeros(3, 4))


def _names(model: nn.Module, params: list[torch.Tensor]) -> set[str]:
    ids = {id(p) for p in params}
    return {n for n, p in model.named_parameters() if id(p) in ids}


def test_first_matching_group_wins_and_the_rest_is_default() -> None:
    model = Net()
    groups = check_param_groups([{"params": "@embedding|@norm|@bias", "weight_decay": 0},
                                 {"params": "^prototypes$", "lr": 0.01}])
    built = build_param_groups(model, groups, lr=0.001, weight_decay=0.1)
    assert [g["name"] for g in built] == ["@embedding|@norm|@bias", "^prototypes$", "default"]
    assert _names(model, built[0]["params"]) == {"item.weight", "norm.weight", "norm.bias", "proj.bias"}
    assert built[0]["weight_decay"] == 0.0 and built[0]["lr"] == 0.001
    assert _names(model, built[1]["params"]) == {"prototypes"} and built[1]["lr"] == 0.01
    assert _names(model, built[2]["params"]) == {"proj.weight"} and built[2]["weight_decay"] == 0.1
    # every trainable parameter is in exactly one group
    assert sum(len(g["params"]) for g in built) == len(list(model.parameters()))


def test_without_groups_one_group_in_parameter_order() -> None:
    model = Net()
    (group,) = build_param_groups(model, [], lr=0.002, weight_decay=0.0)
    assert [id(p) for p in group["params"]] == [id(p) for p in model.parameters()]


def test_errors_name_the_group() -> None:
    with pytest.raises(ValueError, match=r"param_groups\[0\].*selects no trainable parameter.*item.weight"):
        build_param_groups(Net(), check_param_groups([{"params": "typo"}]), 0.1, 0.0)
    with pytest.raises(ValueError, match="unknown selector '@layernorm'"):
        check_param_groups([{"params": "@layernorm"}])
    with pytest.raises(ValueError, match="bad regular expression"):
        check_param_groups([{"params": "(unclosed"}])
    with pytest.raises(ValueError, match="needs 'params'"):
        check_param_groups([{"lr": 0.1}])
    with pytest.raises(ValueError, match=r"param_groups\[0\].lr must be > 0"):
        TrainConfig(param_groups=[{"params": "x", "lr": 0}])
    cfg = TrainConfig.from_dict({"param_groups": "[{params: '@norm', weight_decay: 0}]"})
    assert cfg.param_groups == [{"params": "@norm", "weight_decay": 0.0}]


def test_trainer_builds_the_groups() -> None:
    from graphrec.data.loo import LeaveOneOutSplit
    from graphrec.models.sasrec import SASRec
    from graphrec.train.trainer import Trainer
    from tests.train import ddp_worker as worker

    split = LeaveOneOutSplit.build(worker.make_dataset(num_users=30, num_items=20), max_len=6)
    model = SASRec(split.num_items, hidden_size=8, num_layers=1, max_len=6)
    cfg = TrainConfig(epochs=1, lr=0.01, weight_decay=0.1, optimizer="adamw", progress=False,
                      param_groups=[{"params": "@embedding|@norm|@bias", "weight_decay": 0.0}])
    trainer = Trainer(model, split, cfg, evaluator=loo_evaluator(split))
    assert trainer.optimizer is not None
    decays = [g["weight_decay"] for g in trainer.optimizer.param_groups]
    assert decays == [0.0, 0.1]
