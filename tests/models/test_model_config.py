"""The model-option dataclasses: checks, coercion, unknown keys, the short form."""

from __future__ import annotations

import dataclasses

import pytest

from graphrec.models.config import ModelConfig, MultiInterestConfig, SASRecFamilyConfig


def test_strings_are_coerced_to_the_field_types() -> None:
    config = SASRecFamilyConfig.from_options({"hidden_size": "32", "dropout": "0.25", "loss": "bce"})
    assert (config.hidden_size, config.dropout, config.loss) == (32, 0.25, "bce")
    assert config.num_layers == SASRecFamilyConfig().num_layers  # untouched fields keep defaults


def test_sizes_must_be_positive_and_dropout_a_probability() -> None:
    with pytest.raises(ValueError, match=r"model.num_interests must be a positive integer, got 0"):
        MultiInterestConfig(num_interests=0)
    with pytest.raises(ValueError, match=r"model.dropout must lie in \[0, 1\)"):
        SASRecFamilyConfig(dropout=1.0)
    with pytest.raises(ValueError, match="model.hidden_size: cannot use 'abc' as int"):
        SASRecFamilyConfig.from_options({"hidden_size": "abc"})


def test_unknown_keys_name_the_closest_one() -> None:
    with pytest.raises(ValueError, match=r"'hiden_size' \(did you mean 'hidden_size'\?\)"):
        SASRecFamilyConfig.from_options({"hiden_size": 8}, "SASRec")


def test_options_replace_the_fields_of_a_base_config() -> None:
    base = MultiInterestConfig(hidden_size=16, num_interests=2)
    config = MultiInterestConfig.from_options({"num_interests": 3}, base=base)
    assert (config.hidden_size, config.num_interests) == (16, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden_size = 8  # type: ignore[misc]


def test_define_makes_a_checked_frozen_subclass() -> None:
    Options = ModelConfig.define("Options", dim=64, dropout=0.1, label="x")
    assert issubclass(Options, ModelConfig) and Options.keys() == ["dim", "dropout", "label"]
    assert Options.from_options({"dim": "8"}).to_dict() == {"dim": 8, "dropout": 0.1, "label": "x"}
    with pytest.raises(ValueError, match="model.dim must be a positive integer"):
        Options(dim=-1)
    with pytest.raises(TypeError, match="mutable default"):
        ModelConfig.define("Bad", sizes=[1, 2])
