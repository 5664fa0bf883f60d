"""Add head/tail test metrics to accuracy records written before they were recorded.

Every leave-one-out record now holds ``test_by_group``: the test metrics of head users (the
longest 20 % of training sequences) and tail users, masked and unmasked
(:func:`graphrec.eval.head_tail.metrics_by_group`). Older records lack it, but their runs kept
the per-user ranks (``ranks_*.npy`` beside ``result.json``); this script computes the groups
from those ranks and the run's split -- the same function the trainer calls -- and rewrites
the record atomically with ``test_by_group_source`` saying so. Records that already hold the
groups, and runs without saved ranks, are left as they are (with a message).

    python benchmarks/add_head_tail.py benchmarks/results/s4rec_beauty_s20*.json --runs runs/bench
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import backfill_records  # noqa: E402

from graphrec.eval.head_tail import head_users, metrics_by_group  # noqa: E402
from graphrec.eval.metrics import DEFAULT_KS  # noqa: E402
from graphrec.eval.ranks import load_ranks  # noqa: E402
from graphrec.experiment.config import ExperimentConfig, load_data  # noqa: E402
from graphrec.experiment.protocols import resolve_protocol  # noqa: E402
from graphrec.experiment.runner import RANK_FILES  # noqa: E402


def head_tail_of_run(run_dir: Path) -> dict[str, dict]:
    """``{"masked": groups, "unmasked": groups}`` from a run folder's saved ranks and its split."""
    result = json.loads((run_dir / "result.json").read_text())
    if "ranks" not in result:
        raise FileNotFoundError(f"{run_dir}: result.json names no saved ranks")
    cfg = ExperimentConfig.from_dict(result["config"])
    dataset = load_data(cfg)
    if dataset.checksum() != result["data_checksum"]:
        raise ValueError(f"{run_dir}: the data {cfg.data!r} has changed since the run "
                         f"(checksum {dataset.checksum()} against {result['data_checksum']})")
    protocol = resolve_protocol(cfg.protocol)
    split = protocol.build_split(dataset, cfg.train.max_len, cfg.protocol_options)
    users = load_ranks(run_dir / RANK_FILES["users"])
    head = head_users(split)
    ks = protocol.evaluation_options(cfg.protocol_options).get("ks") or DEFAULT_KS  # as the trainer
    return {view: metrics_by_group(load_ranks(run_dir / RANK_FILES[f"test_{view}"]), users, head, ks)
            for view in ("masked", "unmasked")}


def _summary(record: dict) -> str:
    masked = record["test_by_group"]["masked"]
    return (f"head NDCG@10 {masked['head']['NDCG@10']:.4f} ({masked['head']['num_users']} users), "
            f"tail {masked['tail']['NDCG@10']:.4f} ({masked['tail']['num_users']})")


def main(argv: list[str] | None = None) -> int:
    return backfill_records(argv, __doc__ or "", "test_by_group",
                            lambda run_dir, _record: head_tail_of_run(run_dir),
                            "computed from the run's saved ranks by benchmarks/add_head_tail.py", _summary)


if __name__ == "__main__":
    raise SystemExit(main())
