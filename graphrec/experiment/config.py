"""What defines one run: :class:`ExperimentConfig`, its loading and the model it builds.

Settings are layered defaults < YAML file < command-line flags < ``key=value``
overrides (:func:`build_experiment_config`); unknown keys are an error listing the
valid ones. :func:`build_model` builds the configured model from the split's
:class:`~graphrec.models.context.ModelContext`. Nothing here trains: the runner is
:mod:`graphrec.experiment.runner`, loading a finished run is :mod:`graphrec.experiment.runs`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from graphrec.config import apply_overrides, check_keys, coerce, load_yaml
from graphrec.data.dataset import SequenceDataset
from graphrec.experiment.protocols import resolve_protocol
from graphrec.models.base import SequentialRecommender
from graphrec.train.config import TrainConfig


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run.

    Args:
        data: dataset spec for :func:`graphrec.data.load.load_dataset` (``"synthetic"``,
            a prepared directory, an S3Rec/RecBole directory or a file).
        data_options: keyword options of the synthetic generator (``"synthetic"`` only).
        model: registered model name (:func:`graphrec.models.resolve`).
        model_options: constructor options of the model (unknown ones raise).
        train: :class:`~graphrec.train.config.TrainConfig`.
        protocol: ``"loo"`` or ``"user"`` (keys of :data:`PROTOCOLS`).
        protocol_options: split/evaluation options of the protocol (e.g. ``ns`` for ``"user"``).
        mask_history_eval: whether *the* reported validation/test metrics mask the
            user's history (both test variants are recorded either way).
        output_dir: where ``result.json``, ``train.jsonl`` and ``checkpoints/`` go.
    """

    data: str = "synthetic"
    data_options: dict[str, Any] = field(default_factory=dict)
    model: str = "sasrec"
    model_options: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    protocol: str = "loo"
    protocol_options: dict[str, Any] = field(default_factory=dict)
    mask_history_eval: bool = False
    output_dir: str = "runs/experiment"

    def __post_init__(self) -> None:
        spec = resolve_protocol(self.protocol)
        check_keys(self.protocol_options, spec.split_options + spec.eval_options, "protocol_options")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ExperimentConfig:
        """Build from a (YAML) dict; ``model`` may be a name or ``{name: ..., <options>}``.

        Unknown keys raise listing the valid ones (nested ``train`` keys included).
        """
        if not isinstance(values, Mapping):
            raise ValueError(f"an experiment config must be a mapping, got {type(values).__name__}")
        values = dict(values)
        fields = {f.name for f in dataclasses.fields(cls)}
        check_keys(values, fields, "experiment")
        model = values.get("model")
        if isinstance(model, Mapping):
            model = dict(model)  # {name: ..., <options>}; without a name, the default model
            values["model"] = str(model.pop("name", cls.model))
            values["model_options"] = {**dict(values.get("model_options") or {}), **model}
        train = values.get("train", {})
        values["train"] = train if isinstance(train, TrainConfig) else TrainConfig.from_dict(train or {})
        hints = {"data": str, "model": str, "protocol": str, "mask_history_eval": bool, "output_dir": str}
        for key, annotation in hints.items():
            if key in values:
                values[key] = coerce(values[key], annotation, key)
        for key in ("data_options", "model_options", "protocol_options"):
            values[key] = coerce(values.get(key) or {}, dict[str, Any], key)
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str] | None = None,
                  overrides: Iterable[str] = ()) -> ExperimentConfig:
        """Load a YAML file (or start from defaults) and apply ``key=value`` overrides,
        e.g. ``train.lr=0.001`` or ``model.hidden_size=64``."""
        base = load_yaml(path) if path is not None else {}
        return cls.from_dict(apply_overrides(base, overrides))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["train"] = self.train.to_dict()
        return out



def load_data(cfg: ExperimentConfig) -> SequenceDataset:
    """The dataset named by ``cfg.data`` (with ``cfg.data_options`` for the generator)."""
    from graphrec.data.load import load_dataset

    return load_dataset(cfg.data, **cfg.data_options)


def model_options(cls: type[SequentialRecommender], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against ``cls.Config`` (unknown keys, types, sizes) and coerced.

    Only the keys given are returned (a model's ``from_context`` fills the rest from the
    data); errors name the option as ``model.<name>``.
    """
    config = cls.make_config(None, options)
    return {key: getattr(config, key) for key in options}


def build_model(cfg: ExperimentConfig, split: Any, device: torch.device | str = "cpu"
                ) -> SequentialRecommender:
    """``resolve(cfg.model).from_context(ctx, **cfg.model_options)``.

    ``ctx`` is the :class:`~graphrec.models.context.ModelContext` of ``split``: what
    the model may know of the data (training item counts, item → category, graphs of
    the training part, the window length ``train.max_len``). Options are checked by
    :func:`model_options`.
    """
    from graphrec.models import resolve
    from graphrec.models.context import ModelContext

    cls = resolve(cfg.model)
    options = model_options(cls, cfg.model_options)
    ctx = ModelContext.from_split(split, device)
    try:
        return cls.from_context(ctx, **options)
    except (TypeError, RuntimeError) as exc:  # e.g. a size torch refuses
        raise ValueError(f"model {cfg.model!r} with options {options}: {exc}") from None


def build_experiment_config(
    config_file: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> ExperimentConfig:
    """Defaults < YAML file < ``settings`` (command-line flags, nested dict) < ``key=value`` overrides.

    ``settings["model"]`` may name a model while the YAML gives ``model: {name: ..., options}``:
    the name is replaced and the options kept.
    """
    values = load_yaml(config_file) if config_file is not None else {}
    for key, value in (settings or {}).items():
        current = values.get(key)
        if key == "model" and isinstance(current, Mapping):
            values[key] = {**dict(current), "name": value}
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            values[key] = {**dict(current), **dict(value)}
        else:
            values[key] = value
    return ExperimentConfig.from_dict(apply_overrides(values, overrides))


__all__ = ["ExperimentConfig", "build_experiment_config", "build_model", "load_data", "model_options"]
