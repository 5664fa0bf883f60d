"""Learning-rate schedules as pure functions of the optimisation step.

.. math::
    \\eta_t = \\eta \\cdot f(t), \\qquad
    f(t) = \\begin{cases}
        (t + 1) / W & t < W \\quad \\text{(linear warm-up)} \\\\
        1 & \\text{constant} \\\\
        1 - p & \\text{linear},\\ p = (t - W) / (T - W) \\\\
        \\tfrac12 (1 + \\cos \\pi p) & \\text{cosine}
    \\end{cases}

with ``W`` warm-up steps and ``T`` total steps (``epochs x steps per epoch``; early
stopping may end a run before ``T``). The factor never drops below ``min_factor``.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, schedule: str = "constant",
              min_factor: float = 0.0) -> float:
    """Multiplier of the base learning rate at optimisation step ``step`` (0-based)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown lr_schedule {schedule!r}; valid: {list(SCHEDULES)}")
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    factor = 1.0 - progress if schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
    return max(factor, min_factor)
