"""HPCL4SR Eq. 1 and where it agrees with PyG's gcn_norm."""

import math

import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from graphrec.graph.normalize import degree_normalize, weighted_degree


def _sym(edges: list[tuple[int, int, float]]) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols, ws = [], [], []
    for i, j, w in edges:
        rows += [i] if i == j else [i, j]
        cols += [j] if i == j else [j, i]
        ws += [w] if i == j else [w, w]
    return torch.tensor([rows, cols]), torch.tensor(ws)


def test_eq1_hand_computed() -> None:
    ei, w = _sym([(0, 1, 2.0), (1, 2, 3.0)])  # degrees 2, 5, 3
    out = degree_normalize(ei, w, 3)
    expected = {(0, 1): 2 / math.sqrt(3 * 6), (1, 2): 3 / math.sqrt(6 * 4)}
    for e in range(ei.shape[1]):
        i, j = sorted(ei[:, e].tolist())
        assert math.isclose(out[e].item(), expected[(i, j)], rel_tol=1e-6)
    assert weighted_degree(ei, w, 3).tolist() == [2.0, 5.0, 3.0]


def _as_dict(ei: torch.Tensor, w: torch.Tensor) -> dict[tuple[int, int], float]:
    return {(int(a), int(b)): float(x) for a, b, x in zip(ei[0], ei[1], w, strict=True)}


def test_agrees_with_gcn_norm_off_diagonal_without_self_loops() -> None:
    ei, w = _sym([(0, 1, 2.0), (1, 2, 3.0), (0, 2, 1.0)])
    ours = _as_dict(ei, degree_normalize(ei, w, 3))
    pyg_ei, pyg_w = gcn_norm(ei, w, 3, improved=False, add_self_loops=True)
    pyg = _as_dict(pyg_ei, pyg_w)
    for key, value in ours.items():
        assert math.isclose(value, pyg[key], rel_tol=1e-6)
    # improved=False = self-loop fill value 1. The difference:
    # gcn_norm adds a diagonal 1 / (a_i + 1) that Eq. 1 does not have
    deg = [3.0, 5.0, 4.0]
    for i in range(3):
        assert (i, i) not in ours
        assert math.isclose(pyg[(i, i)], 1.0 / (deg[i] + 1.0), rel_tol=1e-6)


def test_differs_from_gcn_norm_with_existing_self_loops() -> None:
    ei, w = _sym([(0, 1, 2.0), (0, 0, 4.0)])  # a_00 = 4: degrees 6, 2
    ours = _as_dict(ei, degree_normalize(ei, w, 2))
    pyg = _as_dict(*gcn_norm(ei, w, 2, improved=False, add_self_loops=True))
    # Eq. 1 keeps a_00 and adds 1 to the degree: 4 / (6 + 1)
    assert math.isclose(ours[(0, 0)], 4.0 / 7.0, rel_tol=1e-6)
    # gcn_norm keeps the existing loop without adding 1 to node 0: 4 / 6, and 2 / sqrt(6 * 3)
    assert math.isclose(pyg[(0, 0)], 4.0 / 6.0, rel_tol=1e-6)
    assert math.isclose(pyg[(0, 1)], 2.0 / math.sqrt(6 * 3), rel_tol=1e-6)
    assert math.isclose(ours[(0, 1)], 2.0 / math.sqrt(7 * 3), rel_tol=1e-6)


def test_normalised_graph_is_symmetric_nonnegative_and_contracting() -> None:
    torch.manual_seed(0)
    dense = torch.randint(0, 5, (6, 6)).float()
    dense = dense + dense.T
    dense.fill_diagonal_(0)
    ei = dense.nonzero().T
    w = dense[ei[0], ei[1]]
    a2 = torch.zeros(6, 6)
    a2[ei[0], ei[1]] = degree_normalize(ei, w, 6)
    assert torch.allclose(a2, a2.T) and (a2 >= 0).all()
    assert torch.linalg.eigvalsh(a2).abs().max() < 1.0  # spectral radius < 1: the series converges
