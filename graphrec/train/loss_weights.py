"""Loss-term weights that change with the epoch.

A model returns named loss terms; the trainer minimises
:math:`\\mathcal{L}^{(e)} = \\sum_t w_t(e)\\, \\mathcal{L}_t` in epoch ``e`` (1-based). A
term's weight is a plain number (constant) or a schedule:

.. math::
    w(e) = \\begin{cases}
      0 & e < e_0 \\\\
      w \\cdot \\min\\!\\big(1, (e - e_0 + 1) / E_w\\big) & \\texttt{warmup} \\\\
      w \\cdot \\gamma^{|\\{m \\in M : m \\le e\\}|} & \\texttt{step} \\\\
      w & \\texttt{constant}
    \\end{cases}

with ``start_epoch`` :math:`e_0` (default 1), ``warmup_epochs`` :math:`E_w`,
``milestones`` :math:`M` and ``gamma`` :math:`\\gamma`. Written in a config as

.. code-block:: yaml

    train:
      loss_weights:
        rec: 1.0
        cl: {weight: 0.1, schedule: warmup, warmup_epochs: 5}
        adv: {weight: 0.05, schedule: step, milestones: [10, 20], gamma: 0.5}
        intent: {weight: 0.1, start_epoch: 3}

A weight is a function of the epoch only, so a run resumed from a checkpoint
(whose config holds the schedules) continues with exactly the weights of an
uninterrupted run. Pre-training phases are schedules too (``start_epoch``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

LOSS_WEIGHT_SCHEDULES = ("constant", "warmup", "step")
_KEYS = ("weight", "schedule", "start_epoch", "warmup_epochs", "milestones", "gamma")


@dataclass(frozen=True)
class LossWeight:
    """The weight of one loss term as a function of the 1-based epoch (see the module docstring).

    Args:
        weight: the base weight ``w``.
        schedule: ``"constant"``, ``"warmup"`` (linear from ``w / E_w`` to ``w`` over
            ``warmup_epochs``) or ``"step"`` (times ``gamma`` at each milestone).
        start_epoch: the term is off (weight 0) before this epoch.
        warmup_epochs: ``E_w`` for ``"warmup"`` (>= 1).
        milestones: epochs at which ``"step"`` multiplies by ``gamma``.
        gamma: the ``"step"`` factor.
    """

    weight: float = 1.0
    schedule: str = "constant"
    start_epoch: int = 1
    warmup_epochs: int = 1
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    def __post_init__(self) -> None:
        if self.schedule not in LOSS_WEIGHT_SCHEDULES:
            raise ValueError(f"loss weight schedule must be one of {list(LOSS_WEIGHT_SCHEDULES)}, "
                             f"got {self.schedule!r}")
        if not math.isfinite(self.weight):
            raise ValueError(f"loss weight must be a finite number, got {self.weight}")
        if self.start_epoch < 1 or self.warmup_epochs < 1:
            raise ValueError("start_epoch and warmup_epochs must be >= 1")
        if any(m < 1 for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"milestones must be increasing epochs >= 1, got {list(self.milestones)}")

    def at(self, epoch: int) -> float:
        """The weight in (1-based) ``epoch``."""
        if epoch < self.start_epoch:
            return 0.0
        if self.schedule == "warmup":
            return self.weight * min(1.0, (epoch - self.start_epoch + 1) / self.warmup_epochs)
        if self.schedule == "step":
            return self.weight * self.gamma ** sum(1 for m in self.milestones if m <= epoch)
        return self.weight

    @classmethod
    def parse(cls, value: Any, name: str) -> LossWeight:
        """A number (constant weight) or a mapping with the keys of this class."""
        if isinstance(value, LossWeight):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(_KEYS))
            if unknown:
                raise ValueError(f"loss_weights.{name}: unknown key(s) {unknown}; valid keys: {list(_KEYS)}")
            try:
                return cls(
                    weight=float(value.get("weight", 1.0)),
                    schedule=str(value.get("schedule", "constant")),
                    start_epoch=int(value.get("start_epoch", 1)),
                    warmup_epochs=int(value.get("warmup_epochs", 1)),
                    milestones=tuple(int(m) for m in value.get("milestones", ()) or ()),
                    gamma=float(value.get("gamma", 0.1)),
                )
            except (TypeError, ValueError) as exc:
                raise ValueError(f"loss_weights.{name}: {exc}") from None
        if isinstance(value, bool):
            raise ValueError(f"loss_weights.{name}: expected a number or a schedule, got a boolean")
        try:
            return cls(weight=float(value))
        except (TypeError, ValueError):
            raise ValueError(f"loss_weights.{name}: expected a number or a schedule mapping, "
                             f"got {value!r}") from None

    def to_config(self) -> float | dict[str, Any]:
        """The plain form: a number for a constant weight from epoch 1, else a mapping."""
        if self.schedule == "constant" and self.start_epoch == 1:
            return self.weight
        out = asdict(self)
        out["milestones"] = list(self.milestones)
        return out


def normalize_loss_weights(values: Mapping[str, Any]) -> dict[str, float | dict[str, Any]]:
    """Validate a ``loss_weights`` mapping and return its plain (JSON-able) form."""
    return {str(k): LossWeight.parse(v, str(k)).to_config() for k, v in values.items()}


def weight_at(values: Mapping[str, Any], name: str, epoch: int) -> float:
    """The weight of term ``name`` in ``epoch`` (1.0 for a term without an entry)."""
    if name not in values:
        return 1.0
    value = values[name]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return LossWeight.parse(value, name).at(epoch)


__all__ = ["LOSS_WEIGHT_SCHEDULES", "LossWeight", "normalize_loss_weights", "weight_at"]
