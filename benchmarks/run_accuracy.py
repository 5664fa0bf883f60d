"""Train and evaluate one model on one dataset; write a benchmark record.

Usage (from the repository root)::

    python benchmarks/run_accuracy.py --name sasrec_ce_beauty \\
        --data ../shared/data/amazon-beauty --model sasrec train.lr=0.004 train.epochs=30

    python benchmarks/run_accuracy.py --name sasrec_ce_beauty --config benchmarks/configs/sasrec_ce.yaml \\
        --data ../shared/data/amazon-beauty

Writes ``benchmarks/results/<name>.json`` (kind ``accuracy``) with the command,
commit, machine, protocol, seed, config, validation and test metrics (history
masked and unmasked), epochs, training seconds, sequences/s, evaluation users/s
and peak memory; the run's checkpoints and logs go to ``runs/bench/<name>``. An
interrupted run resumes from its checkpoint when started again with the same
settings (``--fresh`` starts over).
Render the README table with ``python benchmarks/render_table.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import peak_memory_mib, write_record  # noqa: E402

from graphrec.experiment.runner import build_experiment_config, run_experiment  # noqa: E402


def _learning_curve(log_file: Path, metric: str) -> list[dict]:
    """(epoch, cumulative training seconds, total and per-term losses, validation metric) from the
    run's JSON-lines log."""
    curve, elapsed = [], 0.0
    if not log_file.is_file():
        return curve
    for line in log_file.read_text().splitlines():
        entry = json.loads(line)
        if "epoch" not in entry or "seconds" not in entry:
            continue
        elapsed += entry["seconds"]
        valid = entry.get("valid") or {}
        point = {"epoch": entry["epoch"], "train_seconds": round(elapsed, 1),
                 "loss": round(entry.get("loss", float("nan")), 4)}
        point.update({key: round(value, 4) for key, value in entry.items()
                      if key.startswith("loss/") and isinstance(value, float)})  # every loss term
        point[f"valid_{metric}"] = valid.get(metric)
        curve.append(point)
    return curve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="record name (file benchmarks/results/<name>.json)")
    parser.add_argument("--data", required=True, help="dataset spec (directory of real data, or 'synthetic')")
    parser.add_argument("--config", type=Path, help="YAML experiment config")
    parser.add_argument("--model", help="model name (overrides the config)")
    parser.add_argument("--label", default="", help="short description shown in the results table")
    parser.add_argument("--protocol", default=None, choices=["loo", "user"])
    parser.add_argument("--fresh", action="store_true",
                        help="start over even when an interrupted run of this name can be resumed")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    settings: dict = {"data": args.data, "output_dir": f"runs/bench/{args.name}"}
    if args.model:
        settings["model"] = args.model
    if args.protocol:
        settings["protocol"] = args.protocol
    # an interrupted run of this name continues where it stopped (refused if its settings differ)
    resume = not args.fresh and Path(settings["output_dir"], "checkpoints", "last.pt").is_file()
    settings["train"] = {"progress": False, "resume": resume}
    config = build_experiment_config(args.config, settings, args.overrides)
    result = run_experiment(config, overwrite=not resume)
    metrics = result["metrics"]
    record = {
        "kind": "accuracy",
        "dataset": Path(args.data.rstrip("/")).name,
        "model": result["model"],
        "label": args.label,
        "protocol": result["protocol"],
        "seed": result["seed"],
        "data_checksum": result["data_checksum"],
        "data_summary": result["data_summary"],
        "test": {"masked": metrics["test_masked"], "unmasked": metrics["test_unmasked"]},
        # novelty / category share / coverage of the top-N lists, and head/tail users (leave-one-out)
        "test_beyond": {"masked": metrics.get("test_masked_beyond"),
                        "unmasked": metrics.get("test_unmasked_beyond")},
        "test_by_group": {"masked": metrics.get("test_masked_by_group"),
                          "unmasked": metrics.get("test_unmasked_by_group")},
        "valid": metrics["valid"],
        "selection_metric": result["metric"],
        "selected_on_masked_valid": result["mask_history_eval"],
        "epochs": result["epochs_run"],
        "best_epoch": result["best_epoch"],
        "train_seconds": result["train_seconds"],
        "seq_per_s": result["seq_per_s"],
        "eval_users_per_s": result["eval_users_per_s"],
        "peak_memory_mib": peak_memory_mib(),
        "num_parameters": result["num_parameters"],
        "config": result["config"],
        "curve": _learning_curve(Path(config.output_dir) / "train.jsonl", result["metric"]),
    }
    path = write_record(args.name, record)
    print(f"wrote {path}")
    for key in ("masked", "unmasked"):
        shown = {k: round(v, 4) for k, v in record["test"][key].items() if "@" in k}
        print(f"test ({key}): {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
