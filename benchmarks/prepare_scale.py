"""Scale benchmark of the raw-dump conversion: a synthetic Taobao UserBehavior file, 5-core.

Writes a synthetic ``UserBehavior.csv`` (default 20M rows, 1M users, 2M items,
10,000 categories; item popularity skewed, so the k-core takes several rounds) to a
temporary directory, converts it with :func:`data_prep.taobao.convert_taobao` and
iterative 5-core filtering in a fresh child process, and records the wall-clock
seconds and the child's peak resident memory in
``benchmarks/results/prepare_scale.json`` with the command, git commit and machine.
Target on a 2-core machine: under 3 minutes and 6 GiB at the default size.

    python benchmarks/prepare_scale.py                       # 20M rows
    python benchmarks/prepare_scale.py --rows 2000000 --users 100000 --items 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "prepare_scale.json"
BEHAVIORS = np.array(["pv", "buy", "cart", "fav"])
BEHAVIOR_P = np.array([0.89, 0.02, 0.06, 0.03])
START = 1_511_539_200  # 2017-11-25 00:00 UTC, the start of the real file's window


def write_synthetic(path: Path, rows: int, users: int, items: int, categories: int, seed: int,
                    chunk_rows: int = 1_000_000) -> None:
    """Write ``rows`` synthetic events in the UserBehavior.csv format (vectorised, in chunks).

    Users are uniform; items follow ``item = floor(items * u ** 2)`` for uniform ``u``
    (a few popular items, a long tail below the 5-core threshold); each item has one
    fixed category; timestamps are uniform over the real file's 9 days.
    """
    rng = np.random.default_rng(seed)
    item_category = rng.integers(1, categories + 1, size=items, dtype=np.int64)  # (items,)
    with open(path, "w") as fh:
        for start in range(0, rows, chunk_rows):
            n = min(chunk_rows, rows - start)
            user = rng.integers(1, users + 1, size=n, dtype=np.int64)
            item = np.minimum((items * rng.random(n) ** 2).astype(np.int64), items - 1)
            frame = pd.DataFrame({
                "user": user,
                "item": item + 1,
                "category": item_category[item],
                "behavior": BEHAVIORS[rng.choice(4, size=n, p=BEHAVIOR_P)],
                "timestamp": START + rng.integers(0, 9 * 86400, size=n, dtype=np.int64),
            })
            frame.to_csv(fh, header=False, index=False)


def convert(path: Path, kcore: int) -> dict[str, Any]:
    """Convert ``path`` in this process; seconds and peak memory (run in a fresh child)."""
    from data_prep.taobao import convert_taobao

    start = time.perf_counter()
    dataset = convert_taobao(path, filters={"kcore_k": kcore})
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "seconds": round(seconds, 2),
        "peak_rss_gib": round(peak_kib / 2**20, 3),
        "summary": dataset.summary(),
        "filters": dataset.meta["filters"],
    }


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "data_prep", "graphrec/data"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> dict[str, Any]:
    memory = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--categories", type=int, default=10_000)
    parser.add_argument("--kcore", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULT, help="result JSON (default: %(default)s)")
    parser.add_argument("--convert-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.convert_only is not None:  # the child process
        print(json.dumps(convert(args.convert_only, args.kcore)))
        return {}

    with tempfile.TemporaryDirectory(prefix="prepare_scale-") as tmp:
        path = Path(tmp) / "UserBehavior.csv"
        start = time.perf_counter()
        write_synthetic(path, args.rows, args.users, args.items, args.categories, args.seed)
        write_seconds = time.perf_counter() - start
        child = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--convert-only", str(path),
             "--kcore", str(args.kcore)],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            raise SystemExit(f"conversion failed (exit {child.returncode})")
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        file_bytes = path.stat().st_size

    result = {
        "benchmark": "prepare_scale",
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "git_commit": _git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "params": {k: v for k, v in vars(args).items() if k not in ("out", "convert_only")},
        "input_file_bytes": file_bytes,
        "write_seconds": round(write_seconds, 2),
        "convert": measured,
        "rows_per_second": round(args.rows / measured["seconds"]),
        "target": {"rows": 20_000_000, "seconds": 180, "peak_rss_gib": 6.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_out, args.out)
    print(json.dumps({k: result[k] for k in ("params", "write_seconds", "rows_per_second")}, indent=2))
    print(json.dumps({k: measured[k] for k in ("seconds", "peak_rss_gib", "summary")}, indent=2))
    return result


if __name__ == "__main__":
    main()
