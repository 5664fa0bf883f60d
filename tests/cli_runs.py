"""Helpers shared by the command-line probes: a tiny synthetic run and the one-line-error check.

Tests import it as ``from cli_runs import TINY, fails, train_argv`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.cli import main

#: overrides that make a synthetic run take a second or two
TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=6", "train.batch_size=32",
        "model.hidden_size=8", "model.num_layers=1"]


def train_argv(out: Path, *extra: str) -> list[str]:
    """``graphrec train`` of one epoch on :data:`TINY` synthetic data into ``out``, plus ``extra``."""
    flags = [e for e in extra if "=" not in e]
    overrides = [e for e in extra if "=" in e]
    return ["train", "--out", str(out), "--epochs", "1", "--data", "synthetic", "--no-progress",
            *flags, *TINY, *overrides]


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run ``argv``; it must exit 2 with one error line, no traceback, holding every needle."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err
