"""Residual GCN (HPCL4SR Eq. 3-4) and the category lookup (Eq. 5)."""

import torch

from graphrec.nn.residual_gcn import ResidualGCN, category_lookup

PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
W = torch.tensor([0.5, 0.5, 0.5, 0.5])


def test_zero_layers_return_the_input() -> None:
    x = torch.randn(3, 4)
    assert torch.equal(ResidualGCN(4, num_layers=0)(x, PATH, W), x)


def test_one_layer_closed_form() -> None:
    gcn = ResidualGCN(2, num_layers=1, num_hops=1, alpha=0.5, attention=False)
    with torch.no_grad():
        gcn.linears[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    x = torch.randn(3, 2)
    a = torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.0]])
    diffused = 0.5 * x + 0.5 * (a @ x)  # theta = (0.5, 0.5)
    h1 = diffused * torch.tensor([1.0, 2.0]) + x  # W (A H^0) + H^0
    assert torch.allclose(gcn(x, PATH, W), (x + h1) / 2, atol=1e-6)  # mean over H^0, H^1


def test_gradients_flow_through_two_attention_layers() -> None:
    torch.manual_seed(0)
    gcn = ResidualGCN(4, num_layers=2, num_hops=3)
    x = torch.randn(3, 4, requires_grad=True)
    out = gcn(x, PATH, W)
    assert out.shape == (3, 4)
    out.square().sum().backward()
    assert x.grad is not None
    assert all(p.grad is not None for p in gcn.parameters())


def test_category_lookup() -> None:
    nodes = torch.tensor([[1.0, 1.0], [2.0, 2.0]])  # node 0 = category 1, node 1 = category 2
    item_category = torch.tensor([0, 2, 1, 0])  # item 3 has unknown category
    ids = torch.tensor([[0, 1, 2], [3, 2, 1]])
    out = category_lookup(nodes, ids, item_category)
    expected = torch.tensor([[[0.0, 0.0], [2.0, 2.0], [1.0, 1.0]], [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]])
    assert torch.equal(out, expected)
