"""An export answers exactly as its run: the top-10 of many users through both paths.

Exports RUN to a temporary folder, then compares, for ``--users`` users (all by default),
``graphrec recommend``'s path (:func:`graphrec.experiment.runs.load_run` + ``top_n``) with the
export's (:func:`graphrec.serving.export.load_export` + ``top_n``): the item lists must be
identical. Writes ``benchmarks/results/export_check_NAME.json``.

    python benchmarks/export_check.py runs/bench/sasrec_ce_beauty_user --users 1000 --name sasrec_beauty
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import write_record  # noqa: E402

from graphrec.data.csr import csr_slices  # noqa: E402
from graphrec.experiment.recommend import top_n  # noqa: E402
from graphrec.experiment.runs import load_run  # noqa: E402
from graphrec.serving.export import export_run, load_export  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--users", type=int, default=0, help="how many users (first ones; 0 = all)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    original = load_run(args.run, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folder = export_run(args.run, Path(tmp) / "export")
        export_seconds = time.perf_counter() - start
        exported, manifest = load_export(folder)
        data = original.dataset
        users = np.arange(data.num_users if args.users <= 0 else min(args.users, data.num_users))
        indptr, items = csr_slices(data.items, data.indptr[users], data.indptr[users + 1])
        max_len = original.config.train.max_len
        a_items, a_scores = top_n(original.model, indptr, items, args.top, max_len)
        b_items, b_scores = top_n(exported.model, indptr, items, args.top, max_len)
        same = (a_items == b_items).all(dim=1)
        record = {
            "kind": "export_check", "run": str(args.run), "model": manifest["model"],
            "users": int(len(users)), "top": args.top, "identical_lists": int(same.sum()),
            "max_score_difference": float((a_scores - b_scores).abs().max()),
            "export_seconds": round(export_seconds, 2), "files": sorted(manifest["files"]),
        }
    write_record(f"export_check_{args.name}", record)
    print(f"{record['identical_lists']} of {record['users']} top-{args.top} lists identical")
    return 0 if record["identical_lists"] == record["users"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
