"""PNG plots of a category-graph analysis (matplotlib, Agg backend, no display needed).

:func:`plot_category_analysis` takes the dict of
:func:`graphrec.graph.analysis.analyze_category_graph` and writes:

* ``degree_distribution.png`` — complementary CDF of unweighted and weighted degree (log-log);
* ``edge_weights.png`` — CCDF of edge weights, raw :math:`a_{ij}` and Eq. 1 :math:`A_2(i, j)`;
* ``strongest_edges.png`` — the strongest co-occurrences with category names;
* ``communities.png`` — community and component sizes;
* ``diffusion_spread.png`` — effective support :math:`e^{H(p)}` of diffused mass vs hops ``K``;
* ``popularity_bias.png`` — Lorenz curves of weighted degree before/after Eq. 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from graphrec.atomic import write_png_atomic  # noqa: E402


def _ccdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[v > 0]
    return v, 1.0 - np.arange(len(v)) / max(len(v), 1)


def _lorenz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.sort(np.asarray(values, dtype=np.float64))
    cum = np.concatenate([[0.0], np.cumsum(v)])
    return np.linspace(0, 1, len(cum)), cum / max(cum[-1], 1e-12)


def plot_category_analysis(
    summary: dict[str, Any], edge_weights: dict[str, np.ndarray], out_dir: str | os.PathLike[str],
    title: str = "category graph",
) -> list[Path]:
    """Write the PNGs listed in the module docstring to ``out_dir``; returns their paths.

    Args:
        summary: output of :func:`~graphrec.graph.analysis.analyze_category_graph`.
        edge_weights: ``{"raw": (E,), "normalized": (E,)}`` edge weights of the graph.
        out_dir: directory (created).
        title: dataset name used in the plot titles.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for key, label in (("degree_values", "degree (distinct neighbours)"),
                       ("weighted_degree_values", "weighted degree $a_i$")):
        x, y = _ccdf(np.asarray(summary[key]))
        ax.step(x, y, where="post", label=label)
    ax.set(xscale="log", yscale="log", xlabel="degree", ylabel="fraction of categories with degree ≥ x",
           title=f"{title}: degree distribution ({summary['num_nodes']} categories)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    paths.append(write_png_atomic(fig, out / "degree_distribution.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "raw", "raw count $a_{ij}$"),
                           (axes[1], "normalized", "Eq. 1 weight $A_2(i,j)$")):
        x, y = _ccdf(edge_weights[key])
        ax.step(x, y, where="post", color="tab:blue" if key == "raw" else "tab:orange")
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="fraction of edges with weight ≥ x",
               title=f"{title}: edge weights, {key}")
        ax.grid(alpha=0.3, which="both")
    paths.append(write_png_atomic(fig, out / "edge_weights.png"))

    edges = summary["strongest_edges"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.32 * max(len(edges), 5) + 1.4), sharey=True)
    labels = [f"{e['source_name']} – {e['target_name']}" for e in edges][::-1]
    pos = np.arange(len(edges))
    axes[0].barh(pos, [e["count"] for e in edges][::-1], color="tab:blue")
    axes[0].set(yticks=pos, yticklabels=labels, xlabel="co-occurrences $a_{ij}$",
                title=f"{title}: strongest edges")
    axes[1].barh(pos, [e["normalized"] for e in edges][::-1], color="tab:orange")
    axes[1].set(xlabel="after Eq. 1 $A_2(i,j)$", title="same edges, normalised")
    for ax in axes:
        ax.grid(alpha=0.3, axis="x")
    paths.append(write_png_atomic(fig, out / "strongest_edges.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    sizes = summary["communities"]["sizes"]
    axes[0].bar(np.arange(1, len(sizes) + 1), sizes, color="tab:green")
    axes[0].set(xlabel="community (largest first)", ylabel="categories",
                title=f"{title}: {len(sizes)} Louvain communities, Q = "
                      f"{summary['communities']['modularity']:.3f}")
    comp = summary["components"]["sizes"]
    axes[1].bar(np.arange(1, len(comp) + 1), comp, color="tab:gray")
    axes[1].set(xlabel="connected component (largest first)", ylabel="categories",
                yscale="log", title=f"{summary['components']['count']} connected components")
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    paths.append(write_png_atomic(fig, out / "communities.png"))

    diff = summary["diffusion"]
    if diff.get("hops"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        hops = np.asarray(diff["hops"])
        axes[0].plot(hops, diff["effective_support_mean"], marker="o", label="mean")
        axes[0].fill_between(hops, diff["effective_support_p10"], diff["effective_support_p90"],
                             alpha=0.25, label="10–90 % of sources")
        axes[0].set(xlabel="diffusion hops K", ylabel="effective support $e^{H(p)}$ (categories)",
                    yscale="log", title=f"{title}: spread of diffused mass (α = {diff['alpha']})")
        axes[0].legend()
        axes[1].plot(hops, diff["self_mass_mean"], marker="o", color="tab:red", label="mass on source")
        axes[1].set(xlabel="diffusion hops K", ylabel="share of mass on the source category",
                    ylim=(0, 1.02), title="mass kept on the source")
        ax2 = axes[1].twinx()
        ax2.plot(hops, diff["reached_mean"], marker="s", color="tab:purple", label="categories reached")
        ax2.set_ylabel("categories reached (mean)")
        axes[1].legend(loc="center right")
        ax2.legend(loc="lower right")
        for ax in axes:
            ax.grid(alpha=0.3)
        paths.append(write_png_atomic(fig, out / "diffusion_spread.png"))

    bias = summary["popularity_bias"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for key, label in (("raw_weighted_degree", "raw $a_i$"),
                       ("normalized_weighted_degree", "after Eq. 1")):
        x, y = _lorenz(np.asarray(bias[key]))
        gini = bias["raw_degree_gini" if key.startswith("raw") else "normalized_degree_gini"]
        ax.plot(x, y, label=f"{label} (Gini {gini:.2f})")
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="equal")
    ax.set(xlabel="fraction of categories (least connected first)",
           ylabel="cumulative share of weighted degree",
           title=f"{title}: popular-category bias\ntop {bias['top_fraction']:.0%} hold "
                 f"{bias['raw_weight_share_top']:.0%} of weight raw, "
                 f"{bias['normalized_weight_share_top']:.0%} after Eq. 1")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    paths.append(write_png_atomic(fig, out / "popularity_bias.png"))
    return paths
