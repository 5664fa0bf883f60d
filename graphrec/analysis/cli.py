"""``graphrec analyze``: analyses of trained runs (head rates of clusters, interest similarity,
case studies), each writing a plot and its JSON into a folder graphrec made."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from graphrec.config import MAX_SEED, int_in_range


def add_analyze(sub: argparse._SubParsersAction, formatter: Any) -> None:
    """Add ``graphrec analyze`` (head-rate, interests, case-study) to the subcommands ``sub``."""
    analyze = sub.add_parser("analyze", help="analyses of trained runs (plots + JSON)",
                             epilog="examples:\n  graphrec analyze head-rate runs/s4rec runs/iclrec "
                                    "--out plots/head-rate\n"
                                    "  graphrec analyze interests runs/hpcl4sr runs/comirec_sa "
                                    "--out plots/interests\n"
                                    "  graphrec analyze case-study runs/hpcl4sr --users 17 42",
                             formatter_class=formatter)
    kinds = analyze.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    head_rate = kinds.add_parser(
        "head-rate", help="share of head sequences in each intent cluster (S4Rec Fig. 3)",
        description="Assign every training sequence of each run to its cluster (S4Rec: nearest prototype; "
                    "ICLRec: nearest k-means intent), compute each cluster's share of head sequences "
                    "(the longest 20 % of training sequences) and write head_rate.png (a box plot per "
                    "run) and head_rate.json into --out, a new folder or a plots folder graphrec made.",
        epilog="examples:\n  graphrec analyze head-rate runs/s4rec runs/iclrec --out plots/head-rate",
        formatter_class=formatter,
    )
    head_rate.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="S4Rec or ICLRec run folders")
    head_rate.add_argument("--out", type=Path, required=True, help="output folder for the plot and JSON")
    head_rate.add_argument("--labels", nargs="+", help="a name per run for the plot (default: folder names)")
    head_rate.add_argument("--head-ratio", type=float, default=0.2,
                           help="share of the longest training sequences called head (default 0.2)")
    head_rate.add_argument("--batch-size", type=int_in_range(1, 1 << 20), default=1024,
                           help="sequences per forward pass")
    head_rate.add_argument("--device", default=None)
    head_rate.add_argument("--overwrite", action="store_true",
                           help="replace earlier plots in --out (only a folder graphrec made)")
    head_rate.set_defaults(handler=_run_head_rate)
    _add_analyze_interests(kinds, formatter)


def _add_analyze_interests(kinds: argparse._SubParsersAction, formatter: Any) -> None:
    interests = kinds.add_parser(
        "interests", help="cosine similarity between each user's interests (HPCL4SR Fig. 1)",
        description="Encode the held-out users of each run (user split) into their K interests, take the "
                    "cosine similarity of every pair of a user's interests and write "
                    "interest_similarity.png (percent of pairs per similarity bin, one series per run) and "
                    "interest_similarity.json into --out, a new folder or a plots folder graphrec made.",
        epilog="examples:\n  graphrec analyze interests runs/hpcl4sr runs/comirec_sa --out plots/interests\n"
               "  graphrec analyze interests runs/hpcl4sr --num-users 128 --out plots/interests-128",
        formatter_class=formatter,
    )
    interests.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                           help="run folders (user split, K >= 2)")
    interests.add_argument("--out", type=Path, required=True, help="output folder for the plot and JSON")
    interests.add_argument("--labels", nargs="+", help="a name per run for the plot (default: folder names)")
    interests.add_argument("--split", choices=["valid", "test"], default="test",
                           help="whose users (default test)")
    interests.add_argument("--num-users", type=int_in_range(1, 1 << 31), default=None,
                           help="a random sample of users (the paper: 128; default: all)")
    interests.add_argument("--seed", type=int_in_range(0, MAX_SEED), default=0,
                           help="seed of the user sample (default 0)")
    interests.add_argument("--bins", type=int_in_range(1, 1000), default=20,
                           help="histogram bins over [-1, 1], 1 to 1000 (default 20)")
    interests.add_argument("--batch-size", type=int_in_range(1, 1 << 20), default=512,
                           help="users per forward pass")
    interests.add_argument("--device", default=None)
    interests.add_argument("--overwrite", action="store_true",
                           help="replace earlier plots in --out (only a folder graphrec made)")
    interests.set_defaults(handler=_run_interests)
    case = kinds.add_parser(
        "case-study", help="a user's history, each interest's top items and the held-out targets",
        description="For held-out users of a run (user split) print the history with categories, the top "
                    "items of every interest with categories and scores, the merged list the protocol "
                    "evaluates, and the targets (* marks targets / retrieved targets).",
        epilog="examples:\n  graphrec analyze case-study runs/hpcl4sr --users 17 42 --top 10\n"
               "  graphrec analyze case-study runs/hpcl4sr --users 17 --split valid --json case.json\n"
               "  graphrec analyze case-study runs/hpcl4sr --random 3 --seed 1",
        formatter_class=formatter,
    )
    case.add_argument("run", type=Path, help="run directory or checkpoint file")
    who = case.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", nargs="+", help="user names (as in the source data)")
    who.add_argument("--random", type=int_in_range(1, 100_000), metavar="N",
                     help="N held-out users drawn at random (see --seed)")
    case.add_argument("--seed", type=int_in_range(0, MAX_SEED), default=0,
                      help="seed of the --random draw (default 0)")
    case.add_argument("--top", type=int_in_range(1, 100_000), default=10,
                      help="items per interest and in the merged list")
    case.add_argument("--split", choices=["valid", "test"], default="test",
                      help="the users' group (default test)")
    case.add_argument("--json", type=Path, help="also write the case study to this file")
    case.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    case.add_argument("--device", default=None)
    case.set_defaults(handler=_run_case_study)


def _run_interests(args: argparse.Namespace) -> int:
    from graphrec.analysis.interests import interest_similarity_report, write_interest_similarity
    from graphrec.experiment.runs import load_run
    from graphrec.outputs import check_output_dir, claim_output_dir

    check_output_dir(args.out, "plots", overwrite=args.overwrite, inputs=args.runs)
    runs = [load_run(run, device=args.device) for run in args.runs]
    labels = args.labels or [Path(run).resolve().name for run in args.runs]
    report = interest_similarity_report(runs, labels, args.split, args.num_users, args.seed, args.bins,
                                        args.batch_size)
    claim_output_dir(args.out, "plots", overwrite=args.overwrite, inputs=args.runs)  # only once it all worked
    write_interest_similarity(report, args.out)
    for run in report["runs"]:
        pairs, users = run["pairs"]["summary"], run["user_mean"]["summary"]
        print(f"{run['label']}: {run['num_users']} users, K = {run['num_interests']}, pair similarity mean "
              f"{pairs['mean']:.3f} (median {pairs['median']:.3f}, IQR {pairs['q1']:.3f}-{pairs['q3']:.3f}), "
              f"per-user mean {users['mean']:.3f}")
    print(f"wrote interest_similarity.png and interest_similarity.json to {args.out}")
    return 0


def _run_case_study(args: argparse.Namespace) -> int:
    from graphrec.analysis.interests import case_study, format_case_study, sample_eval_users
    from graphrec.experiment.runs import load_run

    run = load_run(args.run, device=args.device)
    users = args.users or sample_eval_users(run, args.random, args.split, args.seed)
    cases = case_study(run, users, args.top, args.split)
    print(format_case_study(cases))
    if args.json:
        from graphrec.outputs import write_output_file

        write_output_file(args.json, json.dumps(cases, indent=2), overwrite=args.overwrite, what="--json")
    return 0


def _run_head_rate(args: argparse.Namespace) -> int:
    from graphrec.analysis.head_rate import head_rate_report, write_head_rate
    from graphrec.experiment.runs import load_run
    from graphrec.outputs import check_output_dir, claim_output_dir

    check_output_dir(args.out, "plots", overwrite=args.overwrite, inputs=args.runs)
    runs = [load_run(run, device=args.device) for run in args.runs]
    labels = args.labels or [Path(run).resolve().name for run in args.runs]
    report = head_rate_report(runs, labels, args.batch_size, args.head_ratio)
    claim_output_dir(args.out, "plots", overwrite=args.overwrite, inputs=args.runs)  # only once it all worked
    write_head_rate(report, args.out)
    for run in report["runs"]:
        summary = run["summary"]
        print(f"{run['label']}: {run['nonempty_clusters']} of {run['num_clusters']} {run['clusters']} used, "
              f"head share {run['head_share']:.3f}, cluster head rates median {summary.get('median', 0):.3f} "
              f"(IQR {summary.get('q1', 0):.3f}-{summary.get('q3', 0):.3f}, std {summary.get('std', 0):.3f})")
    print(f"wrote head_rate.png and head_rate.json to {args.out}")
    return 0


__all__ = ["add_analyze"]
