"""The ``graphrec`` command line: prepare, train, evaluate, compare, analyze, recommend, graph, models.

This is the only place that reads command-line arguments; it turns them into
plain values and calls the library.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from graphrec.analysis.cli import add_analyze
from graphrec.config import MAX_SEED, int_in_range
from graphrec.data.sources import SOURCES, add_filter_arguments, filters_from_args

MAIN_EXAMPLES = """\
examples:
  graphrec train                                   # SASRec on the embedded synthetic data
  graphrec prepare s3rec --input Beauty.txt --out data/beauty
  graphrec train --data data/beauty --model sasrec --out runs/beauty train.lr=0.004
  graphrec evaluate runs/beauty --split test --mask-history
  graphrec compare --a runs/s4rec_s1 runs/s4rec_s2 --b runs/sasrec_s1 runs/sasrec_s2
  graphrec recommend runs/beauty --users 0 1 2 --top 10
  graphrec export runs/beauty --out exports/beauty
  graphrec serve exports/beauty --port 8000        # needs the serve extra
  graphrec graph stats --data data/beauty
  graphrec models
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# --------------------------------------------------------------------- prepare
def _add_prepare(sub: argparse._SubParsersAction) -> None:
    prepare = sub.add_parser(
        "prepare", help="convert raw data into a canonical graphrec dataset",
        description="Read a source format (plain, .gz, .bz2 or one-file .zip; UTF-8 with or without a "
                    "byte-order mark), apply filters, and write a canonical dataset directory "
                    "(arrays.npz + meta.json + the .graphrec marker) atomically. --out must be new, "
                    "empty, or a dataset graphrec prepared (replaced only with --overwrite).",
        epilog="examples:\n  graphrec prepare s3rec --input ../shared/data/amazon-beauty/Beauty.txt "
               "--out data/beauty\n"
               "  graphrec prepare recbole --input ../shared/data/ml-100k --out data/ml-100k\n"
               "  graphrec prepare <source> --help   # the options of one source",
        formatter_class=_formatter,
    )
    sources = prepare.add_subparsers(dest="source", metavar="SOURCE", required=True)
    for name, module_name in SOURCES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        parser = sources.add_parser(
            name, help=module.DESCRIPTION, description=module.DESCRIPTION,
            epilog=getattr(module, "EXAMPLES", None), formatter_class=_formatter,
        )
        module.add_arguments(parser)
        parser.add_argument("--out", required=True, type=Path,
                            help="output dataset directory: new, empty, or (with --overwrite) a dataset "
                                 "graphrec prepared; never a folder graphrec did not make")
        parser.add_argument("--overwrite", action="store_true",
                            help="replace the dataset already in --out (only one graphrec made)")
        add_filter_arguments(parser)
        parser.set_defaults(handler=_run_prepare, source_module=module_name)


def _run_prepare(args: argparse.Namespace) -> int:
    from graphrec.data.dataset_dir import check_dataset_dir, remove_stale_temporaries
    from graphrec.data.errors import DataFormatError
    from graphrec.data.sources import input_paths

    module = importlib.import_module(args.source_module)
    try:
        # before any work: refuse a file, a folder graphrec did not make, a folder holding the input
        check_dataset_dir(args.out, overwrite=args.overwrite, inputs=input_paths(args))
        remove_stale_temporaries(args.out)
        dataset = module.from_args(args, filters_from_args(args))
        dataset.meta.setdefault("source", args.source)
        target = dataset.save(args.out, overwrite=args.overwrite)
    except OSError as exc:  # unreadable input, unwritable output: one line naming the path, no traceback
        if args.verbose:
            raise
        raise DataFormatError(exc.filename or args.out, None, exc.strerror or str(exc)) from exc
    print(json.dumps({"out": str(target), **dataset.summary()}, indent=2))
    return 0


# ----------------------------------------------------------------------- train
def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train", help="train and evaluate a model (the main job)",
        description="Train a model under a protocol, keep the best checkpoint on the validation "
                    "metric, evaluate it on the test split and write result.json. Settings come from "
                    "defaults < --config YAML < flags < KEY=VALUE overrides; unknown keys are an error.",
        epilog="examples:\n"
               "  graphrec train                                   # SASRec, synthetic data, ~1 minute\n"
               "  graphrec train --data ../shared/data/amazon-beauty --model sasrec --out runs/beauty\n"
               "  graphrec train --config examples/configs/sasrec_beauty.yaml train.epochs=5\n"
               "  graphrec train --model gru4rec model.hidden_size=128 train.lr=0.002\n"
               "  torchrun --nproc_per_node=2 -m graphrec.cli train --data ../shared/data/amazon-beauty\n"
               "  graphrec train --out runs/beauty --resume       # continue an interrupted run",
        formatter_class=_formatter,
    )
    train.add_argument("--config", type=Path, help="YAML file with data/model/train sections")
    train.add_argument("--data", help="'synthetic' (default), a prepared dataset, an S3Rec or RecBole dir")
    train.add_argument("--model", help="model name (see `graphrec models`)")
    train.add_argument("--protocol", choices=["loo", "user"], help="evaluation protocol (default loo)")
    train.add_argument("--out", type=Path, help="output directory for checkpoints, logs, result.json")
    train.add_argument("--epochs", type=int_in_range(0, 1_000_000), help="maximum training epochs")
    train.add_argument("--seed", type=int_in_range(0, MAX_SEED), help="random seed")
    train.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    train.add_argument("--resume", action="store_true", help="resume from the checkpoint in --out")
    train.add_argument("--overwrite", action="store_true",
                       help="replace an earlier run in --out (only a run folder graphrec made)")
    train.add_argument("--mask-history", action="store_true", default=None,
                       help="select the best epoch on history-masked validation metrics")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="overrides such as model.hidden_size=128 train.lr=0.004")
    train.set_defaults(handler=_run_train)


def _train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Flags as a nested dict, in the layout of the YAML file."""
    settings: dict[str, Any] = {}
    for key in ("data", "model", "protocol"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.out is not None:
        settings["output_dir"] = str(args.out)
    if args.mask_history is not None:
        settings["mask_history_eval"] = bool(args.mask_history)
    train: dict[str, Any] = {}
    for key in ("epochs", "seed", "device"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    if args.resume:
        train["resume"] = True
    if args.no_progress:
        train["progress"] = False
    if train:
        settings["train"] = train
    return settings


def _run_train(args: argparse.Namespace) -> int:
    from graphrec.experiment.runner import build_experiment_config, run_experiment

    config = build_experiment_config(config_file=args.config, settings=_train_settings(args),
                                     overrides=args.overrides)
    result = run_experiment(config, overwrite=args.overwrite)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 reports
        print(_result_summary(result, config.output_dir))
    return 0


def _result_summary(result: dict[str, Any], output_dir: str) -> str:
    """A short human-readable summary of a finished run."""
    lines = [f"{result['model']} on {result['data']} ({result['protocol']}), best epoch "
             f"{result['best_epoch']} of {result['epochs_run']}, {result['train_seconds']:.1f} s training"]
    for label, key in (("test", "test_unmasked"), ("test, history masked", "test_masked")):
        metrics = result["metrics"].get(key) or {}
        shown = {k: v for k, v in metrics.items() if "@" in k or k == "MRR"}
        lines.append(f"  {label}: " + "  ".join(f"{k} {v:.4f}" for k, v in shown.items()))
    lines.append(f"  result: {Path(output_dir) / 'result.json'}")
    return "\n".join(lines)


# -------------------------------------------------------------------- evaluate
def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "evaluate", help="evaluate a trained run (its best checkpoint) on valid or test",
        description="Load the best checkpoint of a run directory and evaluate it with the run's "
                    "protocol and data (or --data).",
        epilog="examples:\n  graphrec evaluate runs/beauty\n"
               "  graphrec evaluate runs/beauty --split valid --mask-history\n"
               "  graphrec evaluate runs/beauty/best.pt --json metrics.json\n"
               "  graphrec evaluate runs/beauty --beyond-accuracy",
        formatter_class=_formatter,
    )
    evaluate.add_argument("run", type=Path, help="run directory or checkpoint file")
    evaluate.add_argument("--split", choices=["valid", "test"], default="test")
    evaluate.add_argument("--mask-history", action="store_true", help="mask the user's earlier items")
    evaluate.add_argument("--data", help="evaluate on this dataset instead of the run's")
    evaluate.add_argument("--device", default=None)
    evaluate.add_argument("--beyond-accuracy", action="store_true",
                          help="also report novelty, category share and coverage of the top-N lists")
    evaluate.add_argument("--json", type=Path, help="also write the metrics to this file")
    evaluate.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    evaluate.set_defaults(handler=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from graphrec.experiment.runs import evaluate_checkpoint

    metrics = evaluate_checkpoint(args.run, which=args.split, mask_history=args.mask_history,
                                  data=args.data, device=args.device,
                                  beyond_accuracy=args.beyond_accuracy)
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.json:
        from graphrec.outputs import write_output_file

        write_output_file(args.json, text, overwrite=args.overwrite, what="--json")
    return 0


# --------------------------------------------------------------------- compare
def _add_compare(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser(
        "compare", help="paired comparison of two sets of runs on the same test users",
        description="Load the per-user test results kept beside each run's result.json (ranks under "
                    "leave-one-out, each user's metric values under the user split), average each user's "
                    "metric over the runs of a side, and report per metric the mean difference A - B with "
                    "a paired bootstrap interval over users. Runs evaluated on other data, other users or "
                    "under another protocol are refused.",
        epilog="examples:\n"
               "  graphrec compare --a runs/s4rec_s1 runs/s4rec_s2 runs/s4rec_s3 "
               "--b runs/sasrec_s1 runs/sasrec_s2 runs/sasrec_s3\n"
               "  graphrec compare --a runs/s4rec_s1 --b runs/sasrec_s1 --variant masked "
               "--metrics NDCG@10 HR@10 --json cmp.json",
        formatter_class=_formatter,
    )
    compare.add_argument("--a", nargs="+", type=Path, required=True, metavar="RUN",
                         help="run folders of side A")
    compare.add_argument("--b", nargs="+", type=Path, required=True, metavar="RUN",
                         help="run folders of side B")
    compare.add_argument("--variant", choices=["masked", "unmasked"], default="unmasked",
                         help="test with or without history masking (default unmasked)")
    compare.add_argument("--metrics", nargs="+", metavar="METRIC",
                         help="leave-one-out: HR@k, NDCG@k, MRR (default HR/NDCG@{5,10,20} and MRR); "
                              "user split: Recall@N, HR@N, NDCG@N, NDCG_comirec@N of the run's N "
                              "(default all but NDCG_comirec)")
    compare.add_argument("--resamples", type=int_in_range(1, 1_000_000), default=2000,
                         help="bootstrap samples (default 2000)")
    compare.add_argument("--seed", type=int_in_range(0, MAX_SEED), default=0,
                         help="seed of the bootstrap (default 0)")
    compare.add_argument("--confidence", type=float, default=0.95, help="interval coverage (default 0.95)")
    compare.add_argument("--json", type=Path, help="also write the comparison to this file")
    compare.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    compare.set_defaults(handler=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from graphrec.atomic import json_default
    from graphrec.experiment.compare import compare_runs, format_table, load_run_ranks

    runs_a = [load_run_ranks(run, args.variant) for run in args.a]
    runs_b = [load_run_ranks(run, args.variant) for run in args.b]
    report = compare_runs(runs_a, runs_b, args.metrics, args.resamples, args.seed, args.confidence)
    report["variant"] = args.variant
    print(format_table(report))
    if args.json:
        from graphrec.outputs import write_output_file

        text = json.dumps(report, indent=2, default=json_default)
        write_output_file(args.json, text, overwrite=args.overwrite, what="--json")
    return 0


# ------------------------------------------------------------------- recommend
def _add_recommend(sub: argparse._SubParsersAction) -> None:
    recommend = sub.add_parser(
        "recommend", help="top-N items for users of the dataset or for sequences in a file",
        description="Score all items with a trained run and write the top-N per user as CSV or JSON. "
                    "Items the user has already seen are excluded unless --keep-seen.",
        epilog="examples:\n  graphrec recommend runs/beauty --users 0 1 2 --top 10\n"
               "  graphrec recommend runs/beauty --users-file users.txt --format json --out recs.json\n"
               "  graphrec recommend runs/beauty --sequences-file seqs.txt --top 20 --out recs.csv\n"
               "    (seqs.txt: one sequence per line, item names as in the dataset, space separated)",
        formatter_class=_formatter,
    )
    recommend.add_argument("run", type=Path, help="run directory or checkpoint file")
    who = recommend.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", nargs="+", help="user names (as in the source data)")
    who.add_argument("--users-file", type=Path, help="file with one user name per line")
    who.add_argument("--sequences-file", type=Path, help="file with one item sequence per line")
    recommend.add_argument("--top", type=int_in_range(1, 100_000), default=10,
                           help="list length N (default 10)")
    recommend.add_argument("--format", choices=["csv", "json"], default="csv")
    recommend.add_argument("--out", type=Path, help="output file (default: stdout)")
    recommend.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    recommend.add_argument("--keep-seen", action="store_true", help="allow items already in the history")
    recommend.add_argument("--data", help="dataset to read users' histories from (default: the run's)")
    recommend.add_argument("--device", default=None)
    recommend.set_defaults(handler=_run_recommend)


def _run_recommend(args: argparse.Namespace) -> int:
    from graphrec.experiment.recommend import recommend_from_args

    return recommend_from_args(args)


# ---------------------------------------------------------------------- models
def _add_models(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list the models and their options",
                            epilog="examples:\n  graphrec models\n  graphrec models sasrec",
                            formatter_class=_formatter)
    models.add_argument("name", nargs="?", help="show one model's options with defaults")
    models.set_defaults(handler=_run_models)


def _run_models(args: argparse.Namespace) -> int:
    import inspect

    from graphrec.models import available, resolve

    names = [args.name] if args.name else available()
    for name in names:
        try:
            cls = resolve(name)
        except ImportError as exc:  # a model whose module is not there
            print(f"{name}: unavailable ({exc})")
            continue
        doc = (inspect.getdoc(cls) or "").splitlines()
        print(f"{name}: {doc[0] if doc else cls.__name__}")
        for pname, default in cls.Config().to_dict().items():
            print(f"    model.{pname} = {default!r}")
    return 0


# ------------------------------------------------------------------ export / serve
def _add_serving(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export", help="write a trained run as a self-contained folder to serve from",
        description="Write the run's best weights, its prepared dataset, the item table (.npy), the "
                    "item names and a manifest with every file's SHA-256 to a new folder (written to "
                    "a temporary sibling, then renamed into place).",
        epilog="examples:\n  graphrec export runs/beauty --out exports/beauty\n"
               "  graphrec export runs/beauty --out exports/beauty --faiss --overwrite",
        formatter_class=_formatter)
    export.add_argument("run", help="run folder (its best.pt) or checkpoint file")
    export.add_argument("--out", type=Path, required=True, help="the export folder (new, or one made by "
                        "graphrec export with --overwrite)")
    export.add_argument("--faiss", action="store_true", help="also write an exact faiss index of the items")
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    export.set_defaults(handler=_run_export)
    serve = sub.add_parser(
        "serve", help="serve recommendations from an export over HTTP (serve extra)",
        description="POST /recommend {\"items\": [...] | \"user\": \"...\", \"k\": 10, "
                    "\"include_history\": false} -> {\"items\": [{\"item\", \"score\"}]}; GET /health.",
        epilog="examples:\n  graphrec serve exports/beauty --port 8000\n"
               "  curl -s localhost:8000/recommend -H 'content-type: application/json' "
               "-d '{\"items\": [\"12\", \"7\"], \"k\": 5}'",
        formatter_class=_formatter)
    serve.add_argument("export", type=Path, help="a folder written by graphrec export")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int_in_range(1, 65535), default=8000)
    serve.add_argument("--max-batch", type=int_in_range(1, 4096), default=64,
                       help="most concurrent requests scored in one forward pass (default 64)")
    serve.add_argument("--max-wait-ms", type=float, default=5.0,
                       help="how long a request waits for others to batch with (default 5)")
    serve.set_defaults(handler=_run_serve)


def _run_export(args: argparse.Namespace) -> int:
    from graphrec.serving.export import export_run

    out = export_run(args.run, args.out, overwrite=args.overwrite, with_faiss=args.faiss)
    print(f"exported {args.run} to {out}")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from graphrec.serving.service import serve

    serve(args.export, args.host, args.port, args.max_batch, args.max_wait_ms)
    return 0


# ------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphrec",
        description="Multi-interest sequential recommendation framed as graph problems.",
        epilog=MAIN_EXAMPLES, formatter_class=_formatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log filters and progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_prepare(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_compare(sub)
    add_analyze(sub, _formatter)
    _add_recommend(sub)
    _add_serving(sub)
    try:
        from graphrec.graph.cli import add_graph_commands
    except ImportError:
        pass
    else:
        add_graph_commands(sub)
    _add_models(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # KEY=VALUE overrides may come after options too (`train --epochs 3 a.b=1 --out x c.d=2`)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, OSError, OverflowError, FloatingPointError,
            RuntimeError) as exc:
        if args.verbose:
            raise
        print(f"graphrec {args.command}: error: {error_line(exc)}", file=sys.stderr)
        return 2


#: what to do about an operating-system error, by its errno name
OS_ADVICE = {
    "EACCES": "no permission there: choose a folder you may write to, or change its permissions",
    "EPERM": "not permitted there: choose another path",
    "ENOSPC": "the disk is full: free space or choose another disk; --resume then continues a run",
    "EISDIR": "a folder where a file was expected: name a file",
    "ENOTDIR": "a file where a folder was expected: name a folder",
    "EPIPE": "the output was closed early",
    "EROFS": "a read-only file system: choose a writable folder",
}


def error_line(exc: BaseException) -> str:
    """One line for the user: the path and what to do for an OS error, the message otherwise."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno is not None:
        import errno

        name = errno.errorcode.get(exc.errno, "")
        where = f"{exc.filename}: " if exc.filename else ""
        advice = OS_ADVICE.get(name, exc.strerror or str(exc))
        return f"{where}{exc.strerror or name} ({advice})"
    if isinstance(exc, (OverflowError, FloatingPointError)):
        return f"a number out of range ({exc}); check the values in the config and on the command line"
    text = str(exc).strip()
    return text.splitlines()[0] if isinstance(exc, RuntimeError) and text else text


if __name__ == "__main__":
    raise SystemExit(main())
