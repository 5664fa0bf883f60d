"""The experiment runner: config parsing, result.json, checkpoints, both protocols."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.experiment.runner import ExperimentConfig, evaluate_checkpoint, run_experiment
from graphrec.models import MODELS
from graphrec.models.base import SequentialRecommender
from graphrec.models.context import ModelContext
from graphrec.train.config import TrainConfig

WORKER_MODULE = "graphrec_tests_ddp_worker"


def _load_worker() -> Any:
    if WORKER_MODULE in sys.modules:
        return sys.modules[WORKER_MODULE]
    spec = importlib.util.spec_from_file_location(WORKER_MODULE, Path(__file__).with_name("ddp_worker.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[WORKER_MODULE] = module
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


class CountPop(SequentialRecommender):
    """Untrainable popularity model taking the split's training counts."""

    trainable = False

    def __init__(self, num_items: int, item_counts: np.ndarray) -> None:
        super().__init__(num_items)
        self.register_buffer("counts", torch.as_tensor(np.asarray(item_counts), dtype=torch.float32))

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        return cls(ctx.num_items, item_counts=ctx.item_counts)

    def interests(self, batch: SeqBatch) -> Tensor:
        return torch.ones(batch.batch_size, 1, 1, device=self.counts.device)  # (B, 1, 1)

    def item_embeddings(self) -> Tensor:
        return self.counts[:, None]  # (N + 1, 1)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        raise AssertionError("not trainable")


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, "tinymean", f"{WORKER_MODULE}:TinyMean")
    monkeypatch.setitem(MODELS, "countpop", f"{__name__}:CountPop")


def _cfg(tmp_path: Path, **kw: Any) -> ExperimentConfig:
    base: dict[str, Any] = {
        "data": "synthetic",
        "data_options": {"num_users": 150, "num_items": 60, "num_categories": 9, "num_intents": 3,
                         "mean_length": 8.0, "seed": 1},
        "model": {"name": "tinymean", "dim": 8},
        "train": {"epochs": 2, "batch_size": 32, "lr": 0.01, "progress": False, "max_len": 10,
                  "loss_weights": {"norm": 0.01}},
        "output_dir": str(tmp_path / "run"),
    }
    base.update(kw)
    return ExperimentConfig.from_dict(base)


def test_config_parsing(tmp_path: Path) -> None:
    cfg = ExperimentConfig.from_dict({"model": {"name": "sasrec", "hidden_size": 64},
                                      "train": {"lr": "0.01"}})
    assert cfg.model == "sasrec" and cfg.model_options == {"hidden_size": 64} and cfg.train.lr == 0.01
    with pytest.raises(ValueError, match="did you mean 'model_options'"):
        ExperimentConfig.from_dict({"model_option": {}})
    with pytest.raises(ValueError, match=r"unknown key\(s\) in \[train\]"):
        ExperimentConfig.from_dict({"train": {"epoch": 3}})
    with pytest.raises(ValueError, match="valid protocols: \\['loo', 'user'\\]"):
        ExperimentConfig(protocol="ranking")
    with pytest.raises(ValueError, match="protocol_options"):
        ExperimentConfig(protocol="loo", protocol_options={"ns": [20]})
    path = tmp_path / "exp.yaml"
    path.write_text("model: gru4rec\ntrain:\n  epochs: 5\n")
    overrides = ["model.hidden_size=32", "train.epochs=7", "mask_history_eval=true"]
    cfg = ExperimentConfig.from_yaml(path, overrides)
    assert (cfg.model, cfg.model_options) == ("gru4rec", {"hidden_size": 32})
    assert cfg.train.epochs == 7 and cfg.mask_history_eval is True
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert isinstance(cfg.train, TrainConfig)


def test_run_experiment_writes_result_and_checkpoint(tmp_path: Path, registry: None) -> None:
    cfg = _cfg(tmp_path)
    result = run_experiment(cfg)
    on_disk = json.loads((tmp_path / "run" / "result.json").read_text())
    assert on_disk["data_checksum"] == result["data_checksum"] and on_disk["seed"] == cfg.train.seed
    metrics = on_disk["metrics"]
    assert metrics["test_masked"]["mask_history"] is True
    assert metrics["test_unmasked"]["mask_history"] is False
    assert metrics["test"] == metrics["test_unmasked"]
    assert on_disk["epochs_run"] == 2 and on_disk["seq_per_s"] > 0 and on_disk["eval_users_per_s"] > 0
    assert on_disk["peak_memory_mb"] > 0 and on_disk["config"]["model_options"] == {"dim": 8}
    assert len((tmp_path / "run" / "train.jsonl").read_text().splitlines()) == 2
    again = evaluate_checkpoint(tmp_path / "run", "test")
    for key in ("HR@10", "NDCG@10", "MRR", "num_users"):
        assert again[key] == pytest.approx(metrics["test"][key], abs=1e-12)
    masked = evaluate_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt", "test", mask_history=True)
    assert masked["NDCG@10"] == pytest.approx(metrics["test_masked"]["NDCG@10"], abs=1e-12)


def test_same_config_same_metrics(tmp_path: Path, registry: None) -> None:
    a = run_experiment(_cfg(tmp_path / "a"))
    b = run_experiment(_cfg(tmp_path / "b"))
    strip = ("seconds", "users_per_s")
    for which in ("valid", "test"):
        assert {k: v for k, v in a["metrics"][which].items() if k not in strip} == {
            k: v for k, v in b["metrics"][which].items() if k not in strip}


def test_untrainable_model_gets_item_counts(tmp_path: Path, registry: None) -> None:
    result = run_experiment(_cfg(tmp_path, model="countpop"))
    assert result["epochs_run"] == 0 and result["metrics"]["test"]["num_users"] > 0


def test_user_protocol(tmp_path: Path, registry: None) -> None:
    cfg = _cfg(tmp_path, protocol="user", protocol_options={"ns": [20]},
               train={"epochs": 1, "batch_size": 32, "progress": False, "max_len": 10, "metric": "Recall@20"})
    result = run_experiment(cfg)
    assert result["protocol"] == "user" and "Recall@20" in result["metrics"]["test"]
