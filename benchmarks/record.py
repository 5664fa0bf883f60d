"""Shared helpers for benchmark scripts: machine facts, git commit, atomic JSON records.

Every benchmark writes one JSON record to ``benchmarks/results/`` holding the
command that produced it, the git commit, the machine, the protocol, the seed,
the configuration, the metrics and the timings. ``render_table.py`` turns the
records into the README's results table.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphrec.atomic import write_json_atomic

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The current commit (with ``-dirty`` when the tree has uncommitted changes)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, Python/torch versions and the device used."""
    import torch

    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gib = None
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        # 1/5/15-minute load averages when the record was written: above the core count,
        # other work shared the machine and the timings are upper bounds
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    return info


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def write_record(name: str, record: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write ``results_dir/<name>.json`` atomically, adding command, commit, machine and date."""
    full = {
        "name": name,
        "command": command_line(),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        **record,
    }
    target = results_dir / f"{name}.json"
    write_json_atomic(target, full)
    return target


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Measured fp32 matmul throughput of this machine (GFLOP/s, best of ``repeats``)."""
    import torch

    a = torch.randn(size, size)
    b = torch.randn(size, size)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def backfill_records(
    argv: list[str] | None,
    description: str,
    field: str,
    compute: Callable[[Path, dict[str, Any]], Any],
    source: str,
    summary: Callable[[dict[str, Any]], str],
) -> int:
    """Command-line driver shared by the ``add_*.py`` scripts: add ``field`` to older records.

    For each record path in ``argv`` (with ``--runs``, the folder of run folders named after
    the records) that lacks ``field``, ``compute(run_dir, record)`` gives its value; the record
    is rewritten atomically with ``<field>_source = source``. A missing record, or a
    ``compute`` that raises ``FileNotFoundError``/``ValueError``, is reported and counted.

    Returns:
        The exit status: 1 when any record could not be filled, else 0.
    """
    import argparse
    import json

    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", nargs="+", type=Path, help="benchmark records (JSON)")
    parser.add_argument("--runs", type=Path, default=REPO_ROOT / "runs" / "bench",
                        help="folder of the run folders, one per record name (default: runs/bench)")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.records:
        if not path.is_file():
            print(f"{path}: no such record", file=sys.stderr)
            failed += 1
            continue
        record = json.loads(path.read_text())
        if record.get(field):
            print(f"{path}: already has {field}")
            continue
        try:
            record[field] = compute(args.runs / record["name"], record)
        except (FileNotFoundError, ValueError) as err:
            print(f"{path}: {err}", file=sys.stderr)
            failed += 1
            continue
        record[f"{field}_source"] = source
        write_json_atomic(path, record)
        print(f"{path}: {summary(record)}")
    return 1 if failed else 0
