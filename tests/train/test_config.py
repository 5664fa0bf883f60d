"""TrainConfig validation, unknown keys, YAML and key=value overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.train.config import TrainConfig, apply_overrides, coerce, load_yaml, parse_override


def test_defaults_and_frozen() -> None:
    cfg = TrainConfig()
    assert cfg.optimizer == "adam" and cfg.metric is None and cfg.loss_weights == {}  # None: the protocol's
    with pytest.raises(AttributeError):
        cfg.lr = 0.1  # type: ignore[misc]


def test_unknown_key_suggests_closest() -> None:
    with pytest.raises(ValueError, match="'lr_rate'") as err:
        TrainConfig.from_dict({"lr_rate": 0.1})
    assert "valid keys" in str(err.value)
    with pytest.raises(ValueError, match=r"did you mean 'patience'"):
        TrainConfig.from_dict({"patiense": 3})


def test_invalid_values() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="metric"):
        TrainConfig(metric="Precision@10")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)


def test_coercion_from_strings() -> None:
    cfg = TrainConfig.from_dict({"lr": "1e-3", "epochs": "5", "amp": "true", "log_file": "none",
                                 "loss_weights": "{cl: 0.1}", "grad_clip": 1})
    assert cfg.lr == 1e-3 and cfg.epochs == 5 and cfg.amp is True and cfg.log_file is None
    assert cfg.loss_weights == {"cl": 0.1} and isinstance(cfg.grad_clip, float)
    with pytest.raises(ValueError, match="train.epochs: cannot use '2.5'"):
        TrainConfig.from_dict({"epochs": "2.5"})
    with pytest.raises(ValueError, match="expected true/false"):
        coerce("maybe", bool, "x")


def test_overrides_dotted(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("model: sasrec\ntrain:\n  epochs: 10\n  lr: 0.001\n")
    config = load_yaml(path)
    out = apply_overrides(config, ["train.lr=0.01", "model.hidden_size=64", "train.loss_weights.cl=0.5"])
    assert out["train"] == {"epochs": 10, "lr": 0.01, "loss_weights": {"cl": 0.5}}
    assert out["model"] == {"name": "sasrec", "hidden_size": 64}
    assert config["train"]["lr"] == 0.001  # input untouched
    assert parse_override("data=beauty") == (["data"], "beauty")
    with pytest.raises(ValueError, match="key=value"):
        parse_override("train.lr")


def test_yaml_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: [1,\n")
    with pytest.raises(ValueError, match=r"bad.yaml:\d+: invalid YAML"):
        load_yaml(bad)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_yaml(tmp_path / "missing.yaml")
