"""Slow end-to-end runs on real data (``pytest -m slow``; CI runs them after the default suite).

They train real models for a few epochs and check that accuracy lands where
short runs land (thresholds sit well below the measured values, well above chance
and popularity, so that a broken pipeline fails and noise does not).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.experiment.runner import build_experiment_config, run_experiment

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
BEAUTY = DATA / "amazon-beauty"

pytestmark = pytest.mark.slow


def _require(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"{path} is not present (real datasets live in ../shared/data)")


def test_sasrec_beauty_three_epochs_beats_popularity(tmp_path: Path) -> None:
    """SASRec (full CE, lr 4e-3) after 3 Beauty epochs: masked test NDCG@10 about .045
    (POP: about .005); the threshold .03 leaves room for thread-count noise."""
    _require(BEAUTY)
    config = build_experiment_config(settings={
        "data": str(BEAUTY), "model": "sasrec", "output_dir": str(tmp_path), "mask_history_eval": True,
        "train": {"epochs": 3, "lr": 0.004, "progress": False},
    })
    result = run_experiment(config)
    masked = result["metrics"]["test_masked"]
    assert result["data_summary"]["num_users"] == 22363
    assert masked["num_users"] == 22363
    assert masked["NDCG@10"] > 0.03
    assert masked["HR@10"] > 0.05
    assert result["metrics"]["test_unmasked"]["NDCG@10"] < masked["NDCG@10"]


def test_main_job_on_synthetic_data_beats_popularity(tmp_path: Path) -> None:
    """The README's main job at reduced length: SASRec must beat POP by a wide margin."""
    scores = {}
    for model in ("sasrec", "pop"):
        config = build_experiment_config(settings={
            "model": model, "output_dir": str(tmp_path / model),
            "train": {"epochs": 10, "progress": False},
        })
        scores[model] = run_experiment(config)["metrics"]["test_unmasked"]["NDCG@10"]
    assert scores["sasrec"] > 2 * scores["pop"]
