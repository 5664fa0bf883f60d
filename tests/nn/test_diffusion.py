"""Multi-hop attention diffusion against closed forms."""

import pytest
import torch

from graphrec.graph.diffusion import diffusion_coefficients, use_dense
from graphrec.nn.diffusion import AttentionDiffusion

# 3-node path 0 - 1 - 2, both directions
PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


def test_coefficients_sum_to_one_and_decay() -> None:
    theta = diffusion_coefficients(4, 0.6)
    assert torch.allclose(theta, torch.tensor([0.6, 0.24, 0.096, 0.0384, 0.4**4]))
    assert torch.isclose(theta.sum(), torch.tensor(1.0))
    assert torch.all(theta[:-1] > theta[1:])
    assert diffusion_coefficients(0, 0.3).tolist() == [1.0]
    with pytest.raises(ValueError):
        diffusion_coefficients(2, 0.0)


@pytest.mark.parametrize("attention", [True, False])
def test_k0_and_alpha1_return_the_input(attention: bool) -> None:
    x = torch.randn(3, 4)
    assert torch.equal(AttentionDiffusion(4, num_hops=0, attention=attention)(x, PATH), x)
    assert torch.equal(AttentionDiffusion(4, num_hops=5, alpha=1.0, attention=attention)(x, PATH), x)


@pytest.mark.parametrize("dense", [True, False])
def test_path_series_without_attention(dense: bool) -> None:
    w = torch.tensor([0.5, 0.25, 0.75, 2.0])  # A[1,0] = 0.5, A[0,1] = 0.25, A[2,1] = 0.75, A[1,2] = 2
    a = torch.tensor([[0.0, 0.25, 0.0], [0.5, 0.0, 2.0], [0.0, 0.75, 0.0]])
    x = torch.randn(3, 2, dtype=torch.float64)
    alpha, k = 0.3, 3
    expected = sum(
        c * torch.linalg.matrix_power(a.double(), i) @ x
        for i, c in enumerate([alpha, alpha * (1 - alpha), alpha * (1 - alpha) ** 2, (1 - alpha) ** 3])
    )
    layer = AttentionDiffusion(2, num_hops=k, alpha=alpha, attention=False, dense=dense)
    assert torch.allclose(layer(x, PATH, w.double()), expected)


@pytest.mark.parametrize("dense", [True, False])
def test_zero_attention_parameters_give_the_row_normalised_weights(dense: bool) -> None:
    layer = AttentionDiffusion(2, num_hops=2, alpha=0.5, dense=dense)
    with torch.no_grad():
        layer.att_src.zero_()
        layer.att_dst.zero_()
    w = torch.tensor([1.0, 1.0, 1.0, 3.0])  # edge 2 -> 1 has weight 3
    x = torch.randn(3, 2)
    # row-normalised in-weights: node 1 receives from 0 (1) and 2 (3) -> 1/4, 3/4
    a = torch.tensor([[0.0, 1.0, 0.0], [0.25, 0.0, 0.75], [0.0, 1.0, 0.0]])
    expected = 0.5 * x + 0.25 * (a @ x) + 0.25 * (a @ a @ x)
    assert torch.allclose(layer(x, PATH, w), expected, atol=1e-6)


def test_attention_rows_sum_to_one_and_gradients_flow() -> None:
    torch.manual_seed(0)
    layer = AttentionDiffusion(8, num_hops=4, alpha=0.2)
    ei = torch.randint(0, 10, (2, 40))
    ei = ei[:, ei[0] != ei[1]]
    x = torch.randn(10, 8, requires_grad=True)
    w = torch.rand(ei.shape[1]) + 0.1
    att = layer.edge_attention(x, ei, w)
    sums = torch.zeros(10).index_add_(0, ei[1], att)
    has_in = torch.zeros(10, dtype=torch.bool)
    has_in[ei[1]] = True
    assert torch.allclose(sums[has_in], torch.ones(int(has_in.sum())), atol=1e-6)
    layer(x, ei, w).square().sum().backward()
    assert x.grad is not None and layer.att_src.grad is not None and layer.lin.weight.grad is not None
    assert torch.isfinite(x.grad).all() and layer.att_src.grad.abs().sum() > 0


def test_dense_and_sparse_products_agree_in_values_and_gradients() -> None:
    """The dense (C, C) product and the gather-scatter give the same output and gradients,
    repeated edges included (they add up in both)."""
    torch.manual_seed(3)
    edges = torch.randint(0, 12, (2, 60))
    edges = torch.cat([edges, edges[:, :5]], dim=1)  # 5 repeated edges
    weight = torch.rand(edges.shape[1]) + 0.1
    results = []
    for dense in (True, False):
        torch.manual_seed(0)
        layer = AttentionDiffusion(6, num_hops=3, alpha=0.2, dense=dense).double()
        x = torch.randn(12, 6, dtype=torch.float64, requires_grad=True)
        out = layer(x, edges, weight.double())
        (out * torch.linspace(-1, 1, 72, dtype=torch.float64).view(12, 6)).sum().backward()
        assert x.grad is not None and layer.att_src.grad is not None
        results.append((out.detach(), x.grad, layer.att_src.grad, layer.lin.weight.grad))
    for a, b in zip(*results, strict=True):
        assert b is not None and torch.allclose(a, b, atol=1e-12)


def test_dense_is_chosen_by_density() -> None:
    assert use_dense(1311, 251_648)  # Ta-Feng's category graph: 15 % of the pairs
    assert not use_dense(10_000, 50_000)  # 0.05 %
    assert not use_dense(20_000, 200_000_000)  # too many nodes for a dense matrix
    assert use_dense(10_000, 50_000, dense=True) and not use_dense(1311, 251_648, dense=False)
