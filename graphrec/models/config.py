"""Model options as frozen dataclasses, one base per model family.

Every model declares its options once, as a frozen dataclass (its ``Config``), which
extends its family's base: :class:`SASRecFamilyConfig` for the transformer and GRU
next-item models, :class:`MultiInterestConfig` for the models that return ``K``
interest vectors. The config checks of ``graphrec train`` and the listing of
``graphrec models`` read these dataclasses, never constructor signatures; YAML keys
stay flat (``model.hidden_size: 64``).

Checks made for every field in ``__post_init__``: an integer whose default is
positive must be positive, a field named ``*dropout*`` must lie in ``[0, 1)``; a
family or model adds its own in :meth:`ModelConfig.validate`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphrec.config import check_keys, coerce

C = TypeVar("C", bound="ModelConfig")

#: no integer option of a model (a width, a count, a length) may reach this
MAX_OPTION_INT = 2**31


@dataclass(frozen=True)
class ModelConfig:
    """Base of every model's options (a model with none uses it as is)."""

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            default = item.default
            if _is_int(default) and int(default) > 0 and _is_int(value) and value <= 0:  # type: ignore[arg-type]
                raise ValueError(f"model.{item.name} must be a positive integer, got {value}")
            if _is_int(value) and abs(int(value)) >= MAX_OPTION_INT:  # type: ignore[arg-type]
                raise ValueError(f"model.{item.name} = {value} is far larger than any model can hold "
                                 f"(the limit is {MAX_OPTION_INT:,})")
            if "dropout" in item.name and isinstance(value, float) and not 0.0 <= value < 1.0:
                raise ValueError(f"model.{item.name} must lie in [0, 1), got {value}")
        self.validate()

    def validate(self) -> None:
        """Checks across fields, raising ``ValueError`` naming ``model.<field>`` (none here)."""

    @classmethod
    def keys(cls) -> list[str]:
        """The option names, in declaration order."""
        return [item.name for item in dataclasses.fields(cls)]

    @classmethod
    def from_options(cls: type[C], options: Mapping[str, Any], model: str = "model",
                     base: C | None = None) -> C:
        """``options`` checked (unknown keys list the valid ones) and coerced to the field types.

        Args:
            options: option name -> value; strings from the command line are coerced
                (``"64"`` -> 64) and errors name the option as ``model.<name>``.
            model: the model's name, for the unknown-option error.
            base: options not given are taken from this config instead of the defaults.
        """
        check_keys(options, cls.keys(), f"model {model} options")
        hints = typing.get_type_hints(cls)
        values = {key: coerce(value, hints[key], f"model.{key}") if isinstance(value, (str, int, float, bool))
                  else value for key, value in options.items()}
        return dataclasses.replace(base, **values) if base is not None else cls(**values)

    @classmethod
    def define(cls, name: str, /, **defaults: Any) -> type[ModelConfig]:
        """A frozen subclass ``name`` of this config with one field per keyword, typed by its default.

        ``Config = ModelConfig.define("MyConfig", dim=64, dropout=0.2)`` is the short form of
        a ``@dataclass(frozen=True)`` subclass with ``dim: int = 64`` and ``dropout: float = 0.2``.
        """
        for key, value in defaults.items():
            if isinstance(value, (list, dict, set)):
                raise TypeError(f"{name}.{key}: a mutable default needs a dataclass field(default_factory)")
        fields = [(key, type(value), value) for key, value in defaults.items()]
        return dataclasses.make_dataclass(name, fields, bases=(cls,), frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (what a YAML ``model:`` section holds)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SASRecFamilyConfig(ModelConfig):
    """Options shared by the next-item models on a SASRec-style encoder.

    Attributes:
        hidden_size: ``D``, the width of item and position vectors.
        num_layers / num_heads: encoder blocks and attention heads.
        dropout: on embeddings and inside the encoder.
        max_len: the longest window (position vectors); never shorter than the split's.
        loss: the next-item loss (``"ce"`` full softmax, ``"bce"``, ``"sampled"``; see
            :data:`graphrec.losses.NEXT_ITEM_LOSSES`).
        num_negatives: negatives per position for the sampled losses.
        init_std: standard deviation of the normal initialisation.
        ffn_multiplier / activation: the feed-forward width (``D`` times this) and activation.
        encoder: ``"transformer"`` or another registered sequence encoder.
    """

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.5
    max_len: int = 50
    loss: str = "ce"
    num_negatives: int = 256
    init_std: float = 0.02
    ffn_multiplier: int = 1
    activation: str = "relu"
    encoder: str = "transformer"


@dataclass(frozen=True)
class MultiInterestConfig(ModelConfig):
    """Options shared by the models that return ``K`` interest vectors per user.

    Attributes:
        hidden_size: ``D``.
        num_interests: ``K``.
        max_len: the longest window; never shorter than the split's.
        num_negatives: sampled negatives per batch for the sampled softmax.
        sampler: how negatives are drawn (``"log_uniform"`` over popularity ranks,
            ``"uniform"``, ``"popularity"``).
        init_std: standard deviation of the item table's normal initialisation.
        sparse_items: read the item table with sparse lookups (trains with ``lazy_adam``).
        recipe: how training rows become training samples (:data:`MULTI_INTEREST_RECIPES`):
            ``"prefix"`` one random prefix of every training row, one target, the sampled
            softmax; ``"comirec"`` ComiRec's iterator (users uniform, a cut ``k >= 4``
            anywhere in the user's whole sequence, one target, the sampled softmax);
            ``"dense"`` every prefix of every row at once, each position's target against
            the whole catalogue (full softmax) through the interest that scores it best.
    """

    hidden_size: int = 64
    num_interests: int = 4
    max_len: int = 50
    num_negatives: int = 1280
    sampler: str = "log_uniform"
    init_std: float = 0.02
    sparse_items: bool = False
    recipe: str = "prefix"

    def validate(self) -> None:
        if self.recipe not in MULTI_INTEREST_RECIPES:
            raise ValueError(f"model.recipe: unknown recipe {self.recipe!r}; "
                             f"valid: {list(MULTI_INTEREST_RECIPES)}")
        if self.recipe == "dense" and self.sparse_items:
            raise ValueError("model.recipe = 'dense' scores the whole catalogue: "
                             "set model.sparse_items=false")


#: the training recipes of the multi-interest family (see :class:`MultiInterestConfig`)
MULTI_INTEREST_RECIPES = ("prefix", "comirec", "dense")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["MULTI_INTEREST_RECIPES", "ModelConfig", "MultiInterestConfig", "SASRecFamilyConfig"]
