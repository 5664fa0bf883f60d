"""SR-GNN's gated graph cell."""

import torch

from graphrec.graph.session import session_graphs
from graphrec.nn.gated_gnn import GatedSessionGNN, degree_normalized_weights


def test_degree_normalised_weights() -> None:
    ei = torch.tensor([[0, 0, 1], [1, 2, 2]])  # 0->1, 0->2, 1->2
    w_in, w_out = degree_normalized_weights(ei, torch.ones(3), 3)
    assert w_in.tolist() == [1.0, 0.5, 0.5]  # in-degree of 1 = 1, of 2 = 2
    assert w_out.tolist() == [0.5, 0.5, 1.0]  # out-degree of 0 = 2, of 1 = 1


def test_one_step_matches_a_dense_gru_update() -> None:
    torch.manual_seed(0)
    cell = GatedSessionGNN(4, num_steps=1)
    ei = torch.tensor([[0, 0, 1], [1, 2, 2]])
    h = torch.randn(3, 4)
    a_in = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])  # mean over in-neighbours
    a_out = torch.tensor([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # mean over out-neighbours
    agg = torch.cat([a_in @ cell.lin_in(h) + cell.bias_iah, a_out @ cell.lin_out(h) + cell.bias_oah], -1)
    gru = torch.nn.GRUCell(8, 4)
    with torch.no_grad():
        gru.weight_ih.copy_(cell.lin_ih.weight)
        gru.bias_ih.copy_(cell.lin_ih.bias)
        gru.weight_hh.copy_(cell.lin_hh.weight)
        gru.bias_hh.copy_(cell.lin_hh.bias)
    assert torch.allclose(cell(h, ei), gru(agg, h), atol=1e-6)


def test_batched_sessions_are_independent() -> None:
    torch.manual_seed(0)
    cell = GatedSessionGNN(6, num_steps=2)
    ids = torch.tensor([[0, 1, 2, 3, 2], [5, 4, 5, 6, 7]])
    emb = torch.nn.Embedding(8, 6)
    g = session_graphs(ids)
    both = cell(emb(g.x), g.edge_index)
    g0 = session_graphs(ids[:1])
    alone = cell(emb(g0.x), g0.edge_index)
    assert torch.allclose(both[: len(g0.x)], alone, atol=1e-6)
    both.sum().backward()
    assert all(p.grad is not None for p in cell.parameters())


def test_relation_step_generalises_step_and_is_directed() -> None:
    torch.manual_seed(0)
    cell = GatedSessionGNN(4, num_steps=1)
    ei = torch.tensor([[0, 0, 1], [1, 2, 2]])
    h = torch.randn(3, 4)
    w_in, w_out = degree_normalized_weights(ei, torch.ones(3), 3)
    assert torch.equal(cell.step(h, ei, w_in, w_out), cell.relation_step(h, ei, w_in, ei.flip(0), w_out))
    # two channels along forward edges only: node 0 has no in-neighbours, so changing
    # nodes 1 and 2 leaves it unchanged
    other = torch.tensor([[0, 1], [2, 2]])  # second channel: 0 -> 2, 1 -> 2
    out = cell.forward_relations(h, ei, other)
    changed = h.clone()
    changed[1:] = torch.randn(2, 4)
    out2 = cell.forward_relations(changed, ei, other)
    torch.testing.assert_close(out2[0], out[0])
    assert not torch.allclose(out2[2], out[2])
