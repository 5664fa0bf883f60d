"""Add per-user test metric values to user-split runs trained before they were kept.

A user-split run now keeps, beside its ``result.json``, every evaluated test user's own
Recall/HR/NDCG/NDCG_comirec @N, masked and unmasked (``per_user_*.npy``, named in
``result["per_user"]``), so that ``graphrec compare`` can pair runs user by user. Older runs
lack them; this script evaluates each run's saved best weights on the test users again (the
same evaluator as the trainer, :func:`graphrec.eval.user_protocol.evaluate_user_split` with
``return_values=True``), refuses to write anything unless the means of the new values equal
the test metrics the run recorded (relative 1e-6: the same weights on the same users), and
then writes the files and the updated ``result.json`` atomically, the files first.

    python benchmarks/add_per_user.py runs/bench/comirec_sa_tafeng_user runs/bench/mind_tafeng_user
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from graphrec.atomic import write_json_atomic
from graphrec.eval.user_protocol import evaluate_user_split
from graphrec.experiment.protocols import resolve_protocol
from graphrec.experiment.runner import per_user_entry, save_per_user_values
from graphrec.experiment.runs import load_run

#: the recorded and recomputed test metrics must agree to this relative tolerance
TOLERANCE = 1e-6


def per_user_values(run_dir: Path) -> tuple[list[str], dict[str, dict[str, np.ndarray]]]:
    """``(metric names, {"masked" | "unmasked": {"users", name: (U,)}})`` of a run's best weights.

    Raises:
        ValueError: not a user-split run, or the recomputed means differ from the recorded ones.
    """
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    if result.get("protocol") != "user":
        raise ValueError(f"{run_dir}: a {result.get('protocol')!r} run; only user-split runs need this")
    run = load_run(run_dir / "checkpoints" / "best.pt")
    cfg = run.config
    options = resolve_protocol(cfg.protocol).evaluation_options(cfg.protocol_options)
    out: dict[str, dict[str, np.ndarray]] = {}
    names: list[str] = []
    for view, masked in (("masked", True), ("unmasked", False)):
        metrics = evaluate_user_split(run.model, run.split, "test", batch_size=cfg.train.eval_batch_size,
                                      mask_history=masked, device=run.device, return_values=True, **options)
        values = metrics.pop("per_user")
        recorded = result["metrics"][f"test_{view}"]
        names = [name for name in values if name != "users"]
        for name in names:
            mean = float(np.mean(values[name]))
            if name in recorded and not math.isclose(mean, recorded[name], rel_tol=TOLERANCE, abs_tol=1e-12):
                raise ValueError(f"{run_dir}: {view} {name} recomputed as {mean:.6f} but recorded as "
                                 f"{recorded[name]:.6f}; not writing values that disagree with the record")
        out[view] = values
    return names, out


def add_per_user(run_dir: Path) -> str:
    """Write the per-user files and the updated ``result.json`` of one run; return a one-line summary."""
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    if "per_user" in result:
        return f"{run_dir}: already holds per-user values"
    names, values = per_user_values(run_dir)
    save_per_user_values(run_dir, values["masked"], values["unmasked"])
    result["per_user"] = {**per_user_entry(values["masked"]),
                          "source": "recomputed from the best weights by benchmarks/add_per_user.py"}
    write_json_atomic(run_dir / "result.json", result)
    recall = float(np.mean(values["unmasked"][names[0]]))
    return f"{run_dir}: {len(values['masked']['users'])} users, {names[0]} {recall:.4f} (as recorded)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="user-split run folders")
    args = parser.parse_args(argv)
    failed = 0
    for run_dir in args.runs:
        try:
            print(add_per_user(run_dir))
        except (FileNotFoundError, ValueError) as err:
            print(f"{run_dir}: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
