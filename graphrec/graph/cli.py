"""``graphrec graph build | stats | plot``: build, summarise and plot a dataset's graphs.

The dataset is any spec :func:`graphrec.data.load.load_dataset` accepts
(``synthetic``, a prepared directory, an S3Rec or RecBole directory, a file).
Graphs are built from training interactions only (``--protocol``, default
leave-one-out); the protocol is recorded in every output.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from graphrec.atomic import json_default, write_json_atomic
from graphrec.config import int_in_range
from graphrec.data.dataset import SequenceDataset
from graphrec.graph.analysis import analyze_category_graph, analyze_transition_graph
from graphrec.graph.category import category_graph
from graphrec.graph.io import save_graph
from graphrec.graph.normalize import normalized_category_graph
from graphrec.graph.training import PROTOCOLS, training_csr
from graphrec.graph.transition import item_transition_graph
from graphrec.outputs import claim_output_dir, write_output_file

_FORMATTER = argparse.RawDescriptionHelpFormatter
_BIG_ARRAYS = ("degree_values", "weighted_degree_values")


def _load(spec: str) -> SequenceDataset:
    from graphrec.data.load import load_dataset

    return load_dataset(spec)


def _provenance(spec: str, dataset: SequenceDataset, protocol: str) -> dict[str, Any]:
    return {"dataset": str(spec), "checksum": dataset.checksum(), "protocol": protocol,
            "num_users": dataset.num_users, "num_items": dataset.num_items,
            "num_interactions": dataset.num_interactions}


def build_graphs(
    dataset: SequenceDataset, out_dir: str | os.PathLike[str], spec: str = "", protocol: str = "loo",
    window: int = 1, self_loops: bool = False, transition_normalize: str = "none",
) -> dict[str, Any]:
    """Write ``category_graph.pt`` (raw :math:`a_{ij}`), ``category_graph_eq1.pt`` (Eq. 1),
    ``item_transition.pt`` and ``graphs.json`` (provenance) to ``out_dir``.

    The category graphs are skipped (and the reason recorded) when the dataset has
    no categories. Load the ``.pt`` files with :func:`graphrec.graph.io.load_graph`.
    """
    out = Path(out_dir)
    train = training_csr(dataset, protocol=protocol)
    record: dict[str, Any] = {**_provenance(spec, dataset, protocol), "files": {}}
    if dataset.has_categories:
        raw = category_graph(train, window=window, self_loops=self_loops)
        record["files"]["category_graph"] = save_graph(raw, out / "category_graph.pt").name
        norm = normalized_category_graph(raw)
        record["files"]["category_graph_eq1"] = save_graph(norm, out / "category_graph_eq1.pt").name
        record["category_graph"] = {"num_nodes": int(raw.num_nodes), "num_edges": int(raw.num_edges),
                                    "window": window, "self_loops": self_loops}
    else:
        record["category_graph"] = "skipped: the dataset has no item categories"
    trans = item_transition_graph(train, normalize=transition_normalize)
    record["files"]["item_transition"] = save_graph(trans, out / "item_transition.pt").name
    record["item_transition"] = {"num_nodes": int(trans.num_nodes), "num_edges": int(trans.num_edges),
                                 "normalize": transition_normalize}
    write_json_atomic(out / "graphs.json", record, indent=1)
    return record


def category_report(
    dataset: SequenceDataset, spec: str = "", name: str = "category graph", out_dir: str | None = None,
    protocol: str = "loo", window: int = 1, max_hops: int = 10, alpha: float = 0.15, top_edges: int = 20,
    plots: bool = True,
) -> dict[str, Any]:
    """Analyse the category and item-transition graphs; optionally write ``summary.json`` + PNGs."""
    train = training_csr(dataset, protocol=protocol)
    graph = category_graph(train, window=window)
    summary = analyze_category_graph(graph, max_hops=max_hops, alpha=alpha, top_edges=top_edges)
    report = {
        **_provenance(spec, dataset, protocol), "name": name, "window": window,
        "category_graph": summary,
        "item_transition_graph": analyze_transition_graph(item_transition_graph(train)),
    }
    if out_dir is not None:
        out = Path(out_dir)
        if plots:
            from graphrec.graph.plots import plot_category_analysis

            norm = normalized_category_graph(graph)
            weights = {"raw": graph.edge_weight.numpy(), "normalized": norm.edge_weight.numpy()}
            report["plots"] = [p.name for p in plot_category_analysis(summary, weights, out, title=name)]
        write_json_atomic(out / "summary.json", _compact(report), indent=1)
    return report


def _compact(report: dict[str, Any]) -> dict[str, Any]:
    """The report without per-category arrays (they are summarised elsewhere in it)."""
    cat = {k: v for k, v in report["category_graph"].items() if k not in _BIG_ARRAYS}
    cat["popularity_bias"] = {k: v for k, v in cat["popularity_bias"].items()
                              if not k.endswith("weighted_degree")}
    return {**report, "category_graph": cat}


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable summary of :func:`category_report`."""
    cat, trans = report["category_graph"], report["item_transition_graph"]
    deg, comp, comm = cat["degree"], cat["components"], cat["communities"]
    bias, diff = cat["popularity_bias"], cat["diffusion"]
    unw, wtd = deg["unweighted"], deg["weighted"]
    lines = [
        f"dataset {report['dataset']} (checksum {report['checksum']}, protocol {report['protocol']})",
        f"category graph: {cat['num_nodes']} categories, {cat['num_edges_undirected']} edges "
        f"(density {cat['density']:.3f}), total weight {cat['total_weight']:.0f}, "
        f"{cat['isolated_categories']} isolated",
        f"  degree median {unw.get('median', 0):.0f} (max {unw.get('max', 0):.0f}); "
        f"weighted degree median {wtd.get('median', 0):.0f} (max {wtd.get('max', 0):.0f})",
        f"  {comp['count']} connected components (largest {comp['largest_size']}), "
        f"{comm['count']} communities (modularity {comm['modularity']:.3f})",
        f"  top {bias['top_fraction']:.0%} categories hold {bias['raw_weight_share_top']:.1%} of edge weight "
        f"raw, {bias['normalized_weight_share_top']:.1%} after Eq. 1 (degree Gini "
        f"{bias['raw_degree_gini']:.2f} -> {bias['normalized_degree_gini']:.2f})",
    ]
    if diff.get("hops"):
        steps = ", ".join(f"K={k}: {s:.1f}" for k, s in zip(diff["hops"], diff["effective_support_mean"],
                                                            strict=True) if k in (0, 1, 2, 5, 10))
        lines.append(f"  diffusion (alpha {diff['alpha']}) effective support: {steps}")
    lines.append("  strongest edges:")
    for e in cat["strongest_edges"][:10]:
        lines.append(f"    {e['source_name']} – {e['target_name']}: {e['count']:.0f} "
                     f"(Eq. 1: {e['normalized']:.4f})")
    lines.append(f"item-transition graph: {trans['active_items']} items, {trans['num_edges']} edges, "
                 f"{trans['num_transitions']} transitions, self-loop share {trans['self_loop_share']:.3f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ handlers
def _run_build(args: argparse.Namespace) -> int:
    dataset = _load(args.data)
    out = args.out
    if out is None:
        if not (Path(args.data) / "meta.json").is_file():
            raise ValueError(
                f"--out is required unless --data is a prepared dataset directory (got {args.data})"
            )
        out = Path(args.data) / "graphs"
    claim_output_dir(out, "graphs", overwrite=args.overwrite)
    record = build_graphs(dataset, out, spec=args.data, protocol=args.protocol, window=args.window,
                          self_loops=args.self_loops, transition_normalize=args.transition_normalize)
    print(f"wrote {', '.join(record['files'].values())} and graphs.json to {out}")
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    dataset = _load(args.data)
    report = category_report(dataset, spec=args.data, name=args.name or str(args.data), out_dir=None,
                             protocol=args.protocol, window=args.window, max_hops=args.hops, alpha=args.alpha)
    print(format_report(report))
    if args.json is not None:
        write_output_file(args.json, json.dumps(_compact(report), indent=1, default=json_default),
                          overwrite=args.overwrite, what="--json")
        print(f"wrote {args.json}")
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    dataset = _load(args.data)
    claim_output_dir(args.out, "plots", overwrite=args.overwrite)
    report = category_report(dataset, spec=args.data, name=args.name or Path(str(args.data)).name,
                             out_dir=args.out, protocol=args.protocol, window=args.window,
                             max_hops=args.hops, alpha=args.alpha)
    print(f"wrote {', '.join(report['plots'])} and summary.json to {args.out}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synthetic",
                        help="dataset spec: 'synthetic', a prepared dir, an S3Rec/RecBole dir or a file")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loo",
                        help="which interactions count as training (default loo: s[:-2])")
    parser.add_argument("--window", type=int_in_range(1, 1000), default=1,
                        help="count category pairs up to this many steps apart (default 1 = adjacent)")


def _analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hops", type=int_in_range(0, 1000), default=10,
                        help="largest diffusion depth K measured")
    parser.add_argument("--alpha", type=float, default=0.15, help="diffusion alpha, theta_k = a(1-a)^k")
    parser.add_argument("--name", help="dataset name used in titles")


def add_graph_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``graph build | stats | plot`` to the ``graphrec`` command line."""
    graph = subparsers.add_parser(
        "graph", help="build, summarise and plot the category and item-transition graphs",
        description="Category co-occurrence graph (HPCL4SR §4.1, Eq. 1-2) and item-transition graph "
                    "of a dataset, from training interactions only.",
        epilog="examples:\n  graphrec graph stats --data ../shared/data/amazon-beauty\n"
               "  graphrec graph plot --data ../shared/data/amazon-beauty --out plots/beauty\n"
               "  graphrec graph build --data data/beauty            # writes data/beauty/graphs/",
        formatter_class=_FORMATTER,
    )
    sub = graph.add_subparsers(dest="graph_command", metavar="COMMAND", required=True)
    build = sub.add_parser(
        "build", help="write the raw + Eq. 1 category graphs and the item-transition graph",
        description="Write category_graph.pt (raw counts), category_graph_eq1.pt (Eq. 1), "
                    "item_transition.pt and graphs.json (which split they came from). Load them with "
                    "graphrec.graph.io.load_graph.",
        epilog="examples:\n  graphrec graph build --data data/beauty\n"
               "  graphrec graph build --data ../shared/data/amazon-beauty --out graphs/beauty\n"
               "  graphrec graph build --data synthetic --out graphs/synthetic --window 3 --self-loops",
        formatter_class=_FORMATTER,
    )
    _common(build)
    build.add_argument("--out", type=Path, help="output directory (default: <prepared dataset>/graphs)")
    build.add_argument("--overwrite", action="store_true",
                       help="replace graphs built earlier (only a folder graphrec made)")
    build.add_argument("--self-loops", action="store_true", help="count same-category neighbours")
    build.add_argument("--transition-normalize", choices=["none", "row"], default="none",
                       help="item-transition edge weights: counts or row-normalised probabilities")
    build.set_defaults(handler=_run_build)
    stats = sub.add_parser(
        "stats", help="print degree, component, community, edge, diffusion and bias statistics",
        description="Summarise the category graph and the item-transition graph; --json writes it all.",
        epilog="examples:\n  graphrec graph stats\n"
               "  graphrec graph stats --data ../shared/data/amazon-sports --json sports_graph.json\n"
               "  graphrec graph stats --data data/beauty --hops 5 --alpha 0.3",
        formatter_class=_FORMATTER,
    )
    _common(stats)
    _analysis_options(stats)
    stats.add_argument("--json", type=Path, help="also write the summary to this JSON file")
    stats.add_argument("--overwrite", action="store_true", help="replace the JSON file if it exists")
    stats.set_defaults(handler=_run_stats)
    plot = sub.add_parser(
        "plot", help="write PNG plots and summary.json",
        description="Degree distribution, edge weights, strongest edges, communities, diffusion spread "
                    "and popular-category bias, as PNGs plus summary.json.",
        epilog="examples:\n  graphrec graph plot --out plots/synthetic\n"
               "  graphrec graph plot --data ../shared/data/amazon-beauty --out plots/beauty --name Beauty",
        formatter_class=_FORMATTER,
    )
    _common(plot)
    _analysis_options(plot)
    plot.add_argument("--out", type=Path, required=True, help="output directory for the PNGs")
    plot.add_argument("--overwrite", action="store_true",
                      help="replace plots made earlier (only a folder graphrec made)")
    plot.set_defaults(handler=_run_plot)
    return graph


__all__ = ["add_graph_commands", "build_graphs", "category_report", "format_report"]
