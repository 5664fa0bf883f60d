"""Build a prepared dataset's global graphs and their statistics in one scripted step.

The pipeline step after ``graphrec prepare``: it writes, beside the dataset (in
``<dataset>/graphs/``) or into ``--out``,

* ``category_graph.pt`` — the category co-occurrence graph (HPCL4SR §4.1), raw
  counts :math:`a_{ij}`;
* ``category_graph_eq1.pt`` — the same graph normalised by HPCL4SR Eq. 1,

  .. math::

      A_2(i, j) = \\frac{a_{ij}}{\\sqrt{(a_i + 1)(a_j + 1)}};

* ``item_transition.pt`` — directed item -> next-item counts;
* ``graph_stats.json`` — degree, component, community, strongest-edge,
  diffusion-spread and popularity-bias statistics of the category graph
  (:func:`graphrec.graph.analysis.analyze_category_graph`) and counts and degrees
  of the item-transition graph (:func:`graphrec.graph.analysis.analyze_transition_graph`);
* ``graphs.json`` — provenance: dataset spec and checksum, the split the
  interactions came from (``protocol``), the files above.

Every graph is built from **training interactions only** (``protocol="loo"``:
``s[:-2]`` of users with at least 3 items; ``"user"``: the training users), so no
validation or test target leaks into a graph a model is given. The graphs are
built by :func:`graphrec.graph.cli.build_graphs` (the code behind
``graphrec graph build``); this module adds the statistics and the scripted entry
point. Load the ``.pt`` files with :func:`graphrec.graph.io.load_graph`.

Like every graphrec output, the output folder is written only when it is new,
empty, or a graphs folder graphrec made (its marker file, kind ``"graphs"``, is
written first); an earlier one is replaced only with ``--overwrite``
(``overwrite=True``). A folder graphrec did not make, a file, a dataset folder or
a folder holding the input dataset is refused before anything is built
(:mod:`graphrec.outputs`).

Usage::

    python -m data_prep.build_graphs --data data/beauty                 # writes data/beauty/graphs/
    python -m data_prep.build_graphs --data ../shared/data/amazon-beauty --out graphs/beauty
    python -m data_prep.build_graphs --data synthetic --out graphs/synthetic --protocol loo
    python -m data_prep.build_graphs --data data/beauty --overwrite     # build data/beauty/graphs/ again
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from graphrec.atomic import write_json_atomic
from graphrec.data.dataset import SequenceDataset
from graphrec.data.load import load_dataset
from graphrec.graph.analysis import analyze_category_graph, analyze_transition_graph
from graphrec.graph.cli import build_graphs
from graphrec.graph.io import load_graph
from graphrec.graph.training import PROTOCOLS, training_csr
from graphrec.outputs import check_output_dir, claim_output_dir

GRAPHS_SUBDIR = "graphs"
#: the kind written in the marker of a graphs folder
GRAPHS_KIND = "graphs"
STATS_FILE = "graph_stats.json"
MANIFEST_FILE = "graphs.json"
#: per-category arrays left out of graph_stats.json (summarised in "degree")
_PER_CATEGORY = ("degree_values", "weighted_degree_values")


def default_output_dir(spec: str | os.PathLike[str]) -> Path:
    """``<spec>/graphs`` for a prepared dataset directory (one holding ``meta.json``).

    Raises:
        ValueError: ``spec`` is not a prepared dataset directory (``synthetic``, a
            raw S3Rec/RecBole directory or a file): graphs are not written into
            source-data folders, so an output directory must be given.
    """
    path = Path(spec)
    if str(spec) == "synthetic" or not (path / "meta.json").is_file():
        raise ValueError(
            f"--out is required unless --data is a prepared dataset directory holding meta.json "
            f"(got {str(spec)!r}); prepare one with `graphrec prepare` or pass --out DIR"
        )
    return path / GRAPHS_SUBDIR


def graph_statistics(
    out_dir: str | os.PathLike[str], max_hops: int = 10, alpha: float = 0.15, top_edges: int = 20
) -> dict[str, Any]:
    """Statistics of the graphs written to ``out_dir``, computed from the saved files.

    Args:
        out_dir: directory holding ``item_transition.pt`` and, when the dataset has
            categories, ``category_graph.pt``.
        max_hops: diffusion depths ``0..max_hops`` measured (Eq. 2 spread).
        alpha: diffusion :math:`\\alpha`.
        top_edges: how many strongest category edges to list.

    Returns:
        ``{"category_graph": {...} | "skipped: ...", "item_transition_graph": {...}}``
        (JSON-serialisable; per-category degree arrays left out).
    """
    out = Path(out_dir)
    stats: dict[str, Any] = {}
    raw_path = out / "category_graph.pt"
    if raw_path.is_file():
        summary = analyze_category_graph(load_graph(raw_path), max_hops=max_hops, alpha=alpha,
                                         top_edges=top_edges)
        bias = {k: v for k, v in summary["popularity_bias"].items() if not k.endswith("weighted_degree")}
        stats["category_graph"] = {**{k: v for k, v in summary.items() if k not in _PER_CATEGORY},
                                   "popularity_bias": bias}
    else:
        stats["category_graph"] = "skipped: the dataset has no item categories"
    stats["item_transition_graph"] = analyze_transition_graph(load_graph(out / "item_transition.pt"))
    return stats


def build_all_graphs(
    data: str | os.PathLike[str] | SequenceDataset,
    out_dir: str | os.PathLike[str] | None = None,
    protocol: str = "loo",
    window: int = 1,
    self_loops: bool = False,
    transition_normalize: str = "none",
    stats: bool = True,
    max_hops: int = 10,
    alpha: float = 0.15,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the category graphs (raw and Eq. 1), the item-transition graph, their
    statistics and a provenance manifest for one dataset.

    Args:
        data: a dataset spec for :func:`graphrec.data.load.load_dataset` (a prepared
            directory, ``"synthetic"``, an S3Rec/RecBole directory or a file) or a
            loaded :class:`SequenceDataset`.
        out_dir: output directory; default ``<data>/graphs`` for a prepared directory
            (required otherwise).
        protocol: which interactions count as training: ``"loo"`` (default),
            ``"user"`` or ``"all"`` (analysis of a whole log only: it leaks targets).
        window: count category pairs up to this many steps apart (1 = adjacent, the paper's graph).
        self_loops: also count same-category neighbours on the diagonal :math:`a_{ii}`.
        transition_normalize: item-transition weights, ``"none"`` (counts) or ``"row"``.
        stats: also write ``graph_stats.json``.
        max_hops / alpha: diffusion depths and :math:`\\alpha` measured in the statistics.
        overwrite: replace the graphs already in ``out_dir`` (only a graphs folder
            graphrec made).

    Returns:
        The manifest written to ``graphs.json``: ``dataset``, ``checksum``,
        ``protocol``, ``train_interactions``, dataset counts, ``files`` (name -> file)
        and per-graph sizes, plus ``out_dir``.

    Raises:
        ValueError: unknown ``protocol``, or no ``out_dir`` for a spec that is not a
            prepared dataset directory.
        graphrec.outputs.OutputError: ``out_dir`` is a file, a folder graphrec did not
            make or of another kind, holds the input, or holds graphs without ``overwrite``.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {list(PROTOCOLS)}")
    inputs: list[str] = []
    if isinstance(data, SequenceDataset):
        if out_dir is None:
            raise ValueError("out_dir is required when a loaded dataset is passed")
        spec = "<in-memory dataset>"
    else:
        spec = str(data)
        out_dir = default_output_dir(spec) if out_dir is None else out_dir
        inputs = [spec] if spec != "synthetic" else []
    check_output_dir(out_dir, GRAPHS_KIND, overwrite=overwrite, inputs=inputs)  # before any work
    dataset = data if isinstance(data, SequenceDataset) else load_dataset(spec)
    out = claim_output_dir(out_dir, GRAPHS_KIND, overwrite=overwrite, inputs=inputs)
    record = build_graphs(dataset, out, spec=spec, protocol=protocol, window=window,
                          self_loops=self_loops, transition_normalize=transition_normalize)
    record["train_interactions"] = int(len(training_csr(dataset, protocol=protocol).items))
    if stats:
        payload = {"dataset": spec, "checksum": record["checksum"], "protocol": protocol,
                   **graph_statistics(out, max_hops=max_hops, alpha=alpha)}
        write_json_atomic(out / STATS_FILE, payload, indent=1)
        record["files"]["stats"] = STATS_FILE
    write_json_atomic(out / MANIFEST_FILE, record, indent=1)  # the manifest now lists the statistics too
    return {**record, "out_dir": str(out)}


__all__ = ["build_all_graphs", "default_output_dir", "graph_statistics", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_prep.build_graphs", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True,
                        help="dataset spec: a prepared dir, 'synthetic', an S3Rec/RecBole dir or a file")
    parser.add_argument("--out", type=Path, help="output directory (default: <prepared dataset>/graphs)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loo",
                        help="which interactions count as training (default loo: s[:-2])")
    parser.add_argument("--window", type=int, default=1, help="category co-occurrence window (default 1)")
    parser.add_argument("--self-loops", action="store_true", help="count same-category neighbours")
    parser.add_argument("--transition-normalize", choices=["none", "row"], default="none",
                        help="item-transition edge weights: counts or row-normalised probabilities")
    parser.add_argument("--no-stats", action="store_true", help="skip graph_stats.json")
    parser.add_argument("--hops", type=int, default=10, help="largest diffusion depth in the statistics")
    parser.add_argument("--alpha", type=float, default=0.15, help="diffusion alpha in the statistics")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the graphs already in the output folder (only a folder graphrec made)")
    args = parser.parse_args(argv)
    try:
        record = build_all_graphs(args.data, args.out, protocol=args.protocol, window=args.window,
                                  self_loops=args.self_loops, transition_normalize=args.transition_normalize,
                                  stats=not args.no_stats, max_hops=args.hops, alpha=args.alpha,
                                  overwrite=args.overwrite)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    files = ", ".join(record["files"].values())
    print(f"wrote {files} and {MANIFEST_FILE} to {record['out_dir']} "
          f"(protocol {record['protocol']}, {record['train_interactions']} training interactions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

