"""Category-graph analysis: hand-checkable quantities on tiny graphs."""

import math

import numpy as np
import torch
from torch_geometric.data import Data

from graphrec.graph.analysis import (
    analyze_category_graph,
    diffusion_spread,
    gini,
    popularity_bias,
    to_scipy,
)
from graphrec.graph.normalize import degree_normalize


def _two_triangles() -> Data:
    # categories 1-2-3 (weights 5) and 4-5-6 (weights 1), no edge between the triangles
    rows, cols, w = [], [], []
    for (a, b), x in {(0, 1): 5, (1, 2): 5, (0, 2): 5, (3, 4): 1, (4, 5): 1, (3, 5): 1}.items():
        rows += [a, b]
        cols += [b, a]
        w += [x, x]
    return Data(edge_index=torch.tensor([rows, cols]), edge_weight=torch.tensor(w, dtype=torch.float32),
                num_nodes=6, category_count=torch.tensor([10, 9, 8, 3, 2, 1]),
                category_names=["a", "b", "c", "d", "e", "f"])


def test_gini_closed_forms() -> None:
    assert gini(np.ones(5)) == 0.0
    assert math.isclose(gini(np.array([0, 0, 0, 1.0])), 0.75)


def test_components_communities_and_edges() -> None:
    s = analyze_category_graph(_two_triangles(), max_hops=3)
    assert s["num_edges_undirected"] == 6 and s["total_weight"] == 36.0
    assert s["components"]["count"] == 2 and s["components"]["sizes"] == [3, 3]
    assert s["communities"]["count"] == 2
    # Q = sum_c L_c / m - (d_c / 2m)^2 = (15/18 - (30/36)^2) + (3/18 - (6/36)^2) = 10/36
    assert math.isclose(s["communities"]["modularity"], 10 / 36)
    top = s["strongest_edges"][0]
    assert top["count"] == 5.0 and {top["source_name"], top["target_name"]} <= {"a", "b", "c"}
    assert math.isclose(top["normalized"], 5 / 11, rel_tol=1e-6)  # a_i = 10 -> 5 / sqrt(11 * 11)
    assert s["degree_values"] == [2] * 6


def test_diffusion_spread_on_a_triangle() -> None:
    g = _two_triangles()
    norm = to_scipy(g, degree_normalize(g.edge_index, g.edge_weight, 6).numpy().astype(np.float64))
    spread = diffusion_spread(norm, np.array([0]), max_hops=2, alpha=0.5)
    assert spread["effective_support_mean"][0] == 1.0 and spread["reached_mean"][0] == 1.0
    # K = 1: 0.5 on the source, 0.5 * 5/11 on each neighbour -> normalised profile
    p = np.array([0.5, 0.5 * 5 / 11, 0.5 * 5 / 11])
    p = p / p.sum()
    assert math.isclose(spread["effective_support_mean"][1], math.exp(-(p * np.log(p)).sum()), rel_tol=1e-6)
    assert spread["reached_mean"][1] == 3.0  # mass never crosses to the other triangle


def test_eq1_reduces_popular_category_share() -> None:
    g = _two_triangles()
    norm = degree_normalize(g.edge_index, g.edge_weight, 6).numpy()
    bias = popularity_bias(g, norm)
    assert bias["top_categories"] == 1
    assert math.isclose(bias["raw_weight_share_top"], 10 / 36)
    assert bias["normalized_weight_share_top"] < bias["raw_weight_share_top"]
    assert bias["normalized_degree_gini"] < bias["raw_degree_gini"]
