"""``benchmarks/render_table.py``'s comparison blocks on hand-made records with known means."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest


def _record(name: str, hr: float, epochs: int = 4, seconds: float = 40.0) -> dict:
    curve = [{"epoch": e, "train_seconds": seconds * e / epochs} for e in range(1, epochs + 1)]
    return {"name": name, "kind": "accuracy", "test": {"masked": {"HR@5": hr}},
            "epochs": epochs, "best_epoch": 2, "train_seconds": seconds, "curve": curve}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch, load_benchmark: Callable[[str], ModuleType]) -> list[str]:
    module = load_benchmark("render_table")
    rows = [("full", "m_s20??"), ("ablation", "m_ablation"), ("missing", "m_missing")]
    monkeypatch.setattr(module, "SUMMARIES", [("Block", "masked", ["HR@5"], rows)])
    records = [_record("m_s2024", 0.10), _record("m_s2025", 0.14), _record("m_ablation", 0.09),
               _record("other", 0.5)]
    return module.render_summary(records).splitlines()


def test_seed_rows_average_and_report_half_range(table: list[str]) -> None:
    full = next(line for line in table if line.startswith("| full |"))
    cells = [c.strip() for c in full.strip("|").split("|")]
    # mean of .10 and .14, half range .02; 40 s over 4 epochs; best epoch 2 -> 20 s = 0.3 min
    assert cells == ["full", "2", "0.1200 ± 0.0200", "ref", "10", "0.3 min"]


def test_other_rows_differ_from_the_first_and_missing_rows_say_so(table: list[str]) -> None:
    ablation = next(line for line in table if line.startswith("| ablation |"))
    assert [c.strip() for c in ablation.strip("|").split("|")][2:4] == ["0.0900", "−0.0300"]
    missing = next(line for line in table if line.startswith("| missing |"))
    assert "not run yet (`m_missing`)" in missing
    # every row has as many cells as the header
    widths = {line.count("|") for line in table if line.startswith("|")}
    assert len(widths) == 1


def test_epoch_time_is_the_median_of_the_curve_and_loaded_records_are_flagged(
        load_benchmark: Callable[[str], ModuleType]) -> None:
    module = load_benchmark("render_table")
    # epochs of 10, 12, 11 and 500 s (the last made while something else ran): median 11.5
    curve = [{"epoch": e, "train_seconds": t} for e, t in enumerate([10.0, 22.0, 33.0, 533.0], 1)]
    record = {"curve": curve, "epochs": 4, "train_seconds": 533.0,
              "machine": {"cores": 2, "load_average": [3.3, 2.0, 1.0]}}
    assert module.median_epoch_seconds(record) == pytest.approx(11.5)
    assert module.made_under_load(record)
    assert not module.made_under_load({"machine": {"cores": 2, "load_average": [1.9]}})
    # no curve: the mean over the recorded epochs
    assert module.median_epoch_seconds({"epochs": 4, "train_seconds": 40.0}) == pytest.approx(10.0)
