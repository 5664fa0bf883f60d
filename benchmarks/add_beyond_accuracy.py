"""Add novelty, category share and coverage to accuracy records written before they were recorded.

Every record now holds ``test_beyond``: Novelty@N, CategoryShare@N and Coverage@N of the test
users' top-N lists, masked and unmasked (:mod:`graphrec.eval.beyond_accuracy`). Older records
lack it, but where their run kept its best checkpoint this script re-evaluates it on the test
split (:func:`graphrec.experiment.runs.evaluate_checkpoint`, the function ``graphrec evaluate`` calls) and
first checks that the re-evaluation reproduces the recorded rank metrics -- a record whose
numbers do not come back is left alone and reported, so a changed dataset, model or metric
cannot slip novelty from another model into it. The record is rewritten atomically with
``test_beyond_source`` saying where the numbers came from. Records that already hold them, and
runs without a checkpoint, are left as they are (with a message).

    python benchmarks/add_beyond_accuracy.py benchmarks/results/sasrec_ce_beauty_s2024.json --runs runs/bench
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import backfill_records  # noqa: E402

from graphrec.experiment.runs import evaluate_checkpoint  # noqa: E402

TOLERANCE = 1e-6  # re-evaluation is deterministic on the same machine; this only absorbs float noise
RANK_KEYS = ("HR@", "NDCG@", "Recall@", "MRR")


def beyond_of_run(run_dir: Path, recorded_test: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{view: beyond-accuracy metrics}`` for each view (``masked`` / ``unmasked``) of ``recorded_test``.

    Raises:
        ValueError: the re-evaluated rank metrics differ from the recorded ones.
    """
    out: dict[str, dict[str, float]] = {}
    for view, recorded in recorded_test.items():
        metrics = evaluate_checkpoint(run_dir, which="test", mask_history=view == "masked",
                                      beyond_accuracy=True)
        for key, value in recorded.items():
            if key.startswith(RANK_KEYS) and abs(metrics[key] - value) > TOLERANCE:
                raise ValueError(f"{run_dir}: re-evaluated {view} {key} is {metrics[key]:.6f}, "
                                 f"the record says {value:.6f}; not the recorded model")
        out[view] = metrics["beyond_accuracy"]
    return out


def _beyond_of_record(run_dir: Path, record: dict[str, Any]) -> dict[str, dict[str, float]]:
    if not (run_dir / "checkpoints" / "best.pt").is_file():
        raise FileNotFoundError(f"no best checkpoint in {run_dir}")
    return beyond_of_run(run_dir, record["test"])


def _summary(record: dict[str, Any]) -> str:
    first = next(iter(record["test_beyond"].values()))
    return f"Novelty@20 {first['Novelty@20']:.3f}, Coverage@20 {first['Coverage@20']:.3f}"


def main(argv: list[str] | None = None) -> int:
    return backfill_records(argv, __doc__ or "", "test_beyond", _beyond_of_record,
                            "re-evaluated from the run's best checkpoint by "
                            "benchmarks/add_beyond_accuracy.py (rank metrics reproduced)", _summary)


if __name__ == "__main__":
    sys.exit(main())
