"""Training-loss fingerprint: the first epochs' losses of a fixed set of configs.

A refactor that only moves code must leave every number where it was. This script
trains each config for a few epochs (same seed, same data) and writes every epoch's
``loss*`` values and validation metrics to one JSON file; ``--compare`` checks a new
fingerprint against an earlier one and exits non-zero on any difference.

Usage (from the repository root, alone on the machine)::

    python benchmarks/loss_fingerprint.py --out /tmp/fingerprint_before.json
    python benchmarks/loss_fingerprint.py --out /tmp/fingerprint_after.json \\
        --compare /tmp/fingerprint_before.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("sasrec_ce", "s4rec", "comirec_sa", "hpcl4sr", "dssrec")
#: wall-clock figures in the validation record: never equal across runs
TIMING_KEYS = ("seconds", "users_per_s")


def fingerprint_one(config: str, data: str, epochs: int, workdir: Path) -> list[dict[str, Any]]:
    """Train ``examples/configs/<config>_beauty.yaml`` for ``epochs`` epochs; its log lines."""
    out = workdir / config
    command = [
        sys.executable, "-m", "graphrec", "train",
        "--config", str(ROOT / "examples" / "configs" / f"{config}_beauty.yaml"),
        "--data", data, "--out", str(out), "--epochs", str(epochs), "--no-progress",
        "train.patience=100",
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    rows = []
    for line in (out / "train.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "epoch" not in record:
            continue
        rows.append({
            "epoch": record["epoch"],
            **{k: v for k, v in record.items() if k.startswith("loss")},
            "valid": {k: v for k, v in (record.get("valid") or {}).items()
                      if isinstance(v, (int, float)) and k not in TIMING_KEYS},
        })
    return rows


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every config/epoch/key whose value differs between two fingerprints."""
    found = []
    for config in sorted(set(old) | set(new)):
        if old.get(config) != new.get(config):
            found.append(f"{config}: {old.get(config)} != {new.get(config)}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "amazon-beauty"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {c: fingerprint_one(c, args.data, args.epochs, Path(tmp)) for c in args.configs}
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    if args.compare is not None:
        found = differences(json.loads(args.compare.read_text()), result)
        print("\n".join(found) or "identical")
        sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
