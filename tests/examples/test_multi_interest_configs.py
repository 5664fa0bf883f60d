"""The multi-interest example configs (MIND, ComiRec-SA/DR, HPCL4SR on Beauty and Ta-Feng) parse,
build their model, are listed in examples/README.md, and one trains through ``graphrec train``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphrec.cli import main
from graphrec.experiment.config import build_experiment_config
from graphrec.models import resolve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODELS = ("mind", "comirec_sa", "comirec_dr", "hpcl4sr")
DATA = {"beauty": "../shared/data/amazon-beauty", "tafeng": "data/tafeng"}
CONFIGS = [EXAMPLES / "configs" / f"{m}_{d}.yaml" for m in MODELS for d in DATA]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_parses_and_builds(config: Path) -> None:
    cfg = build_experiment_config(config)
    name, dataset = config.stem.rsplit("_", 1)
    assert cfg.model == name and cfg.data == DATA[dataset]
    assert cfg.protocol == "user" and cfg.train.metric == "Recall@20" and not cfg.mask_history_eval
    assert cfg.model_options["max_len"] == cfg.train.max_len == 30
    assert cfg.model_options["num_interests"] == 4 and cfg.model_options["hidden_size"] == 64
    model = resolve(cfg.model).from_config(20, **cfg.model_options)  # unknown options raise
    if name == "hpcl4sr":
        assert set(cfg.train.loss_weights) == set(model.terms()) == {"rec", "class", "mulcl"}  # type: ignore[operator]
        assert cfg.model_options["margin"] == 10.0 and cfg.model_options["temperature"] == 0.05
    text = config.read_text()
    if dataset == "tafeng":
        assert "graphrec prepare tafeng --input ../shared/data/tafeng/ta_feng.csv.zip --kcore 12 " \
               "--out data/tafeng" in text
    assert config.name in (EXAMPLES / "README.md").read_text()


def test_hpcl4sr_config_trains_through_cli(tmp_path: Path) -> None:
    tiny = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
            "data_options.num_intents=3", "data_options.mean_length=8", "model.hidden_size=8",
            "model.num_negatives=16", "train.batch_size=32"]
    argv = ["train", "--config", str(EXAMPLES / "configs" / "hpcl4sr_tafeng.yaml"), "--data", "synthetic",
            "--out", str(tmp_path), "--no-progress", "train.epochs=1", *tiny]
    assert main(argv) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["protocol"] == "user" and result["epochs_run"] == 1
    assert {"Recall@50", "NDCG@50", "NDCG_comirec@50"} <= set(result["metrics"]["test"])
