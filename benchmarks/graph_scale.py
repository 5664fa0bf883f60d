"""Graph construction at scale: category graph, item-transition graph, 10-hop diffusion.

A synthetic interaction log (default 10M interactions, 1M items, 5,000 categories,
skewed item popularity, mean sequence length 20) is built in memory, then timed:

1. ``category_graph`` (leave-one-out training part, adjacent pairs) + Eq. 1;
2. ``item_transition_graph`` (directed next-item counts, row-normalised);
3. 10-hop attention diffusion (``AttentionDiffusion``, attention computed once) on
   the category graph (``d = 64``) and on the item-transition graph (``d = 32``).

Records seconds per stage and the process's peak resident memory after each stage
(``ru_maxrss``, monotone: the generation of the log is included) to
``benchmarks/results/graph_scale.json`` with the command, git commit and machine.
Targets: < 60 s in total for the graph stages, < 8 GiB peak.

    python benchmarks/graph_scale.py                       # full size
    python benchmarks/graph_scale.py --interactions 1000000 --out /tmp/graph_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.graph.category import category_graph
from graphrec.graph.normalize import normalized_category_graph
from graphrec.graph.training import training_csr
from graphrec.graph.transition import item_transition_graph
from graphrec.nn.diffusion import AttentionDiffusion

GIB = 1024**3


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def synthetic_log(num_interactions: int, num_items: int, num_categories: int, mean_length: float,
                  seed: int = 0) -> SequenceDataset:
    """Users with geometric lengths (>= 3), items with a power-law popularity, random categories."""
    rng = np.random.default_rng(seed)
    lengths = 3 + rng.geometric(1.0 / (mean_length - 2), size=int(num_interactions / mean_length * 1.2))
    cum = np.cumsum(lengths)
    lengths = lengths[: int(np.searchsorted(cum, num_interactions)) + 1]
    lengths[-1] -= int(lengths.sum() - num_interactions)
    lengths = lengths[lengths > 0]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    items = (np.floor(num_items * rng.random(num_interactions) ** 3)).astype(np.int64) + 1  # skewed
    item_category = np.concatenate([[0], rng.integers(1, num_categories + 1, size=num_items)])
    return SequenceDataset(indptr=indptr, items=items, num_items=num_items, item_category=item_category)


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> dict[str, Any]:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "memory_gib": round(mem, 1), "python": sys.version.split()[0], "torch": torch.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def run(num_interactions: int, num_items: int, num_categories: int, mean_length: float, hops: int,
        seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    dataset, t_gen = _timed(lambda: synthetic_log(num_interactions, num_items, num_categories, mean_length,
                                                  seed))
    stages: dict[str, dict[str, float]] = {}

    def record(name: str, seconds: float, **extra: float) -> None:
        stages[name] = {"seconds": round(seconds, 3), "peak_rss_gib": round(peak_rss_gib(), 3), **extra}
        print(f"{name:32s} {seconds:8.2f} s   peak RSS {peak_rss_gib():.2f} GiB", flush=True)

    record("generate_log (not counted)", t_gen)
    train, t = _timed(lambda: training_csr(dataset))
    record("training_csr", t, interactions=float(len(train.items)))
    cat, t = _timed(lambda: normalized_category_graph(category_graph(train)))
    record("category_graph+eq1", t, edges=float(cat.num_edges))
    trans, t = _timed(lambda: item_transition_graph(train, normalize="row"))
    record("item_transition_graph", t, edges=float(trans.num_edges))
    with torch.no_grad():
        diff_cat = AttentionDiffusion(64, num_hops=hops, alpha=0.15).eval()
        x_cat = torch.randn(int(cat.num_nodes), 64)
        _, t = _timed(lambda: diff_cat(x_cat, cat.edge_index, cat.edge_weight))
        record(f"diffusion_{hops}hop_category_d64", t)
        diff_item = AttentionDiffusion(32, num_hops=hops, alpha=0.15).eval()
        x_item = torch.randn(int(trans.num_nodes), 32)
        _, t = _timed(lambda: diff_item(x_item, trans.edge_index, trans.edge_weight))
        record(f"diffusion_{hops}hop_items_d32", t)
    total = sum(v["seconds"] for k, v in stages.items() if not k.startswith("generate"))
    peak = peak_rss_gib()
    return {
        "benchmark": "graph_scale",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_commit": _git_commit(),
        "machine": _machine(),
        "config": {"interactions": num_interactions, "items": num_items, "categories": num_categories,
                   "users": dataset.num_users, "mean_length": mean_length, "hops": hops, "seed": seed},
        "stages": stages,
        "total_graph_seconds": round(total, 3),
        "peak_rss_gib": round(peak, 3),
        "targets": {"seconds": 60, "peak_gib": 8, "met": bool(total < 60 and peak < 8)},
        "note": "2-core machine shared with other processes; see load_average. Peak RSS includes the log.",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--categories", type=int, default=5_000)
    parser.add_argument("--mean-length", type=float, default=20.0)
    parser.add_argument("--hops", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "graph_scale.json")
    args = parser.parse_args(argv)
    result = run(args.interactions, args.items, args.categories, args.mean_length, args.hops, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"total {result['total_graph_seconds']:.1f} s, peak {result['peak_rss_gib']:.2f} GiB -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
