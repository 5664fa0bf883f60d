"""Analysis of the category co-occurrence graph (HPCL4SR §4.1) and the item-transition graph.

:func:`analyze_category_graph` answers, for one dataset:

* **degrees**: unweighted and weighted degree :math:`a_i = \\sum_j a_{ij}` (summary + arrays);
* **connected components** (scipy ``csgraph``) and **communities** (networkx Louvain,
  weighted, fixed seed) with their modularity;
* **strongest edges** with category names, raw :math:`a_{ij}` and after Eq. 1;
* **diffusion spread**: a unit of mass on category ``c`` diffused with
  :math:`\\sum_{k \\le K} \\theta_k A_2^k e_c` (Eq. 2, :math:`\\theta_k = \\alpha(1-\\alpha)^k`);
  for every ``K`` the normalised profile :math:`p = v / \\lVert v \\rVert_1` gives the entropy
  :math:`H(p)`, the effective support :math:`e^{H(p)}` and the number of categories reached;
* **popular-category bias** before/after Eq. 1: share of the total edge weight
  incident to the top 10 % categories (by training interactions) and the Gini
  coefficient of the weighted degree.

Everything is vectorised (sparse products over all source categories at once);
networkx is used only for the community detection.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from torch_geometric.data import Data

from graphrec.graph.diffusion import diffusion_coefficients
from graphrec.graph.normalize import degree_normalize


def to_scipy(graph: Data, weight: np.ndarray | None = None) -> sp.csr_matrix:
    """``(n, n)`` CSR adjacency of ``graph`` (``edge_weight`` unless ``weight`` is given)."""
    n = int(graph.num_nodes)
    ei = graph.edge_index.numpy()
    w = graph.edge_weight.numpy().astype(np.float64) if weight is None else weight
    return sp.csr_matrix((w, (ei[0], ei[1])), shape=(n, n))


def category_label(graph: Data, node: int) -> str:
    """Readable label of node ``node`` (category ``node + 1``)."""
    names = getattr(graph, "category_names", None)
    if names and node < len(names):
        name = str(names[node])
        return f"attr {name}" if name.isdigit() else name
    return f"category {node + 1}"


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = all mass on one)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    if len(v) == 0 or v.sum() == 0:
        return 0.0
    cum = np.cumsum(v)
    return float((len(v) + 1 - 2 * (cum / cum[-1]).sum()) / len(v))


def _summary(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])
    keys = ("min", "p25", "median", "p75", "p90", "p99", "max")
    out = {k: round(float(x), 4) for k, x in zip(keys, q, strict=True)}
    out["mean"] = round(float(np.mean(values)), 4)
    return out


def diffusion_spread(
    adj: sp.csr_matrix, sources: np.ndarray, max_hops: int = 10, alpha: float = 0.15
) -> dict[str, list[float]]:
    """Spread of unit mass from ``sources`` after ``K = 0..max_hops`` hops of Eq. 2 on ``adj``.

    Args:
        adj: ``(C, C)`` Eq. 1-normalised adjacency :math:`A_2`.
        sources: ``(S,)`` source nodes.
        max_hops: largest ``K``.
        alpha: :math:`\\alpha` of :math:`\\theta_k`.

    Returns:
        Per ``K`` (lists of length ``max_hops + 1``): mean and 10/90 % quantiles of
        the effective support :math:`e^{H(p)}` over sources, mean entropy (nats),
        mean number of categories reached, and the mean mass kept on the source.
    """
    n = adj.shape[0]
    start = np.zeros((n, len(sources)))  # (C, S) one column per source
    start[sources, np.arange(len(sources))] = 1.0
    adj_t = adj.T.tocsr()  # diffuse along edges j -> i: Z_{k+1} = A Z_k
    result: dict[str, list[float]] = {k: [] for k in (
        "hops", "effective_support_mean", "effective_support_p10", "effective_support_p90",
        "entropy_mean", "reached_mean", "self_mass_mean")}
    for hops in range(max_hops + 1):
        theta = diffusion_coefficients(hops, alpha).double().numpy()
        z = start
        out = theta[0] * start
        for k in range(1, hops + 1):
            z = adj_t @ z  # (C, S)
            out = out + theta[k] * z
        p = np.abs(out) / np.abs(out).sum(axis=0, keepdims=True)  # (C, S)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=0)  # (S,)
        support = np.exp(entropy)
        result["hops"].append(hops)
        result["effective_support_mean"].append(float(support.mean()))
        result["effective_support_p10"].append(float(np.quantile(support, 0.1)))
        result["effective_support_p90"].append(float(np.quantile(support, 0.9)))
        result["entropy_mean"].append(float(entropy.mean()))
        result["reached_mean"].append(float((p > 1e-12).sum(axis=0).mean()))
        result["self_mass_mean"].append(float(p[sources, np.arange(len(sources))].mean()))
    return result


def popularity_bias(graph: Data, normalized: np.ndarray, top_fraction: float = 0.1) -> dict[str, Any]:
    """Edge-weight mass incident to the most popular categories, before and after Eq. 1."""
    n = int(graph.num_nodes)
    counts = graph.category_count.numpy() if hasattr(graph, "category_count") else None
    raw = to_scipy(graph)
    norm = to_scipy(graph, normalized)
    raw_deg = np.asarray(raw.sum(axis=1)).ravel()
    norm_deg = np.asarray(norm.sum(axis=1)).ravel()
    popularity = counts if counts is not None else raw_deg
    top_k = max(1, int(np.ceil(top_fraction * n)))
    top = np.argsort(-popularity, kind="stable")[:top_k]
    return {
        "top_fraction": top_fraction,
        "top_categories": int(top_k),
        "ranked_by": "training interactions" if counts is not None else "weighted degree",
        "raw_weight_share_top": float(raw_deg[top].sum() / max(raw_deg.sum(), 1e-12)),
        "normalized_weight_share_top": float(norm_deg[top].sum() / max(norm_deg.sum(), 1e-12)),
        "raw_degree_gini": gini(raw_deg),
        "normalized_degree_gini": gini(norm_deg),
        "raw_weighted_degree": raw_deg.tolist(),
        "normalized_weighted_degree": norm_deg.tolist(),
    }


def communities(adj: sp.csr_matrix, seed: int = 0) -> tuple[list[list[int]], float]:
    """Louvain communities of the weighted, undirected graph (largest first) and their modularity."""
    g = nx.Graph()
    g.add_nodes_from(range(adj.shape[0]))
    coo = sp.triu(adj, k=1).tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    if g.number_of_edges() == 0:
        return [[v] for v in range(adj.shape[0])], 0.0
    found = nx.community.louvain_communities(g, weight="weight", seed=seed)
    parts = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    return parts, float(nx.community.modularity(g, parts, weight="weight"))


def analyze_category_graph(
    graph: Data,
    max_hops: int = 10,
    alpha: float = 0.15,
    top_edges: int = 20,
    max_sources: int = 1024,
    seed: int = 0,
) -> dict[str, Any]:
    """The full summary of one category graph (see the module docstring).

    Args:
        graph: output of :func:`graphrec.graph.category.category_graph` (raw counts).
        max_hops: diffusion depths ``0..max_hops`` to measure.
        alpha: diffusion :math:`\\alpha`.
        top_edges: how many strongest edges to list.
        max_sources: diffusion sources (all categories when fewer; else an evenly
            spaced subset of the categories ranked by popularity).
        seed: community-detection seed.

    Returns:
        A JSON-serialisable dict (arrays as lists).
    """
    n = int(graph.num_nodes)
    raw = to_scipy(graph)
    normalized = degree_normalize(graph.edge_index, graph.edge_weight, n).numpy().astype(np.float64)
    norm = to_scipy(graph, normalized)
    degree = np.diff(raw.indptr)
    weighted = np.asarray(raw.sum(axis=1)).ravel()
    n_comp, labels = connected_components(raw, directed=False)
    comp_sizes = np.sort(np.bincount(labels))[::-1]
    parts, modularity = communities(raw, seed=seed)
    upper = sp.triu(raw, k=0).tocoo()
    order = np.lexsort((upper.col, upper.row, -upper.data))[:top_edges]
    norm_of = {(int(i), int(j)): float(w) for i, j, w in zip(*sp.triu(norm).tocoo().coords,
                                                           sp.triu(norm).tocoo().data, strict=True)}
    strongest = [
        {
            "source": int(upper.row[e]) + 1, "target": int(upper.col[e]) + 1,
            "source_name": category_label(graph, int(upper.row[e])),
            "target_name": category_label(graph, int(upper.col[e])),
            "count": float(upper.data[e]),
            "normalized": norm_of.get((int(upper.row[e]), int(upper.col[e])), 0.0),
        }
        for e in order
    ]
    counts = graph.category_count.numpy() if hasattr(graph, "category_count") else weighted
    ranked = np.argsort(-counts, kind="stable")
    ranked = ranked[degree[ranked] > 0]
    if len(ranked) > max_sources:
        ranked = ranked[np.linspace(0, len(ranked) - 1, max_sources).round().astype(np.int64)]
    spread = diffusion_spread(norm, ranked, max_hops=max_hops, alpha=alpha) if len(ranked) else {}
    return {
        "num_nodes": n,
        "num_edges_undirected": int(sp.triu(raw, k=0).nnz),
        "self_loops": int((raw.diagonal() > 0).sum()),
        "total_weight": float(raw.sum()),
        "density": float(sp.triu(raw, k=1).nnz / max(n * (n - 1) / 2, 1)),
        "isolated_categories": int((degree == 0).sum()),
        "degree": {"unweighted": _summary(degree), "weighted": _summary(weighted)},
        "degree_values": degree.tolist(),
        "weighted_degree_values": weighted.tolist(),
        "edge_weights": {"raw": _summary(raw.data), "normalized": _summary(norm.data)},
        "components": {
            "count": int(n_comp),
            "count_excluding_isolated": int((comp_sizes > 1).sum()),
            "largest_size": int(comp_sizes[0]) if len(comp_sizes) else 0,
            "largest_fraction": float(comp_sizes[0] / n) if n else 0.0,
            "sizes": comp_sizes[:50].tolist(),
        },
        "communities": {
            "method": f"louvain (networkx, weighted, seed {seed})",
            "count": len(parts),
            "modularity": modularity,
            "sizes": [len(c) for c in parts],
            "largest": [[category_label(graph, v) for v in c[:8]] for c in parts[:5]],
        },
        "strongest_edges": strongest,
        "diffusion": {"alpha": alpha, "num_sources": int(len(ranked)), **spread},
        "popularity_bias": popularity_bias(graph, normalized),
        "provenance": {
            "window": getattr(graph, "window", None),
            "self_loops": getattr(graph, "self_loops", None),
            "protocol": getattr(graph, "protocol", None),
        },
    }


def analyze_transition_graph(graph: Data) -> dict[str, Any]:
    """Counts and degree summaries of an item-transition graph."""
    adj = to_scipy(graph, graph.edge_count.numpy().astype(np.float64))
    out_deg = np.diff(adj.indptr)
    in_deg = np.bincount(graph.edge_index[1].numpy(), minlength=adj.shape[0])
    active = (out_deg > 0) | (in_deg > 0)
    return {
        "num_nodes": int(graph.num_nodes),
        "active_items": int(active.sum()),
        "num_edges": int(adj.nnz),
        "num_transitions": int(adj.sum()),
        "self_loop_share": float(adj.diagonal().sum() / max(adj.sum(), 1)),
        "out_degree": _summary(out_deg[active]),
        "in_degree": _summary(in_deg[active]),
        "edge_count": _summary(adj.data),
    }
