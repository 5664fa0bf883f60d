"""Batched session graphs (SR-GNN) against hand-built graphs."""

import torch

from graphrec.graph.session import session_graphs


def test_hand_built_batch() -> None:
    ids = torch.tensor([[0, 0, 3, 5, 3, 7], [0, 0, 0, 0, 0, 0], [1, 2, 1, 2, 1, 2]])
    g = session_graphs(ids)
    # row 0 nodes: 3, 5, 7 (sorted) -> 0, 1, 2; row 2 nodes: 1, 2 -> 3, 4
    assert g.x.tolist() == [3, 5, 7, 1, 2]
    assert g.batch.tolist() == [0, 0, 0, 2, 2]
    assert g.ptr.tolist() == [0, 3, 3, 5]
    assert g.num_graphs == 3
    assert g.alias.tolist() == [[-1, -1, 0, 1, 0, 2], [-1] * 6, [3, 4, 3, 4, 3, 4]]
    edges = set(map(tuple, g.edge_index.T.tolist()))
    assert edges == {(0, 1), (1, 0), (0, 2), (3, 4), (4, 3)}
    counts = dict(zip(map(tuple, g.edge_index.T.tolist()), g.edge_count.tolist(), strict=True))
    assert counts[(3, 4)] == 3 and counts[(4, 3)] == 2
    assert torch.all(g.edge_weight == 1)
    assert g.last_node.tolist() == [2, -1, 4]
    weighted = session_graphs(ids, weighted=True)
    assert torch.equal(weighted.edge_weight, weighted.edge_count.float())


def test_alias_recovers_the_items() -> None:
    torch.manual_seed(0)
    ids = torch.randint(1, 20, (16, 12))
    lengths = torch.randint(0, 13, (16,))
    ids[torch.arange(12) < (12 - lengths).unsqueeze(1)] = 0  # left padding
    g = session_graphs(ids)
    real = ids > 0
    assert torch.equal(g.x[g.alias[real]], ids[real])
    assert torch.equal(g.batch[g.alias[real]], torch.arange(16).unsqueeze(1).expand(16, 12)[real])
    # nodes are unique per row and edges stay inside a row
    assert len(set(zip(g.batch.tolist(), g.x.tolist(), strict=True))) == len(g.x)
    assert torch.equal(g.batch[g.edge_index[0]], g.batch[g.edge_index[1]])


def test_extra_left_padding_gives_the_same_graph() -> None:
    ids = torch.tensor([[4, 2, 4, 9]])
    a = session_graphs(ids)
    b = session_graphs(torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], dim=1))
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    assert torch.equal(a.alias, b.alias[:, 3:]) and torch.equal(a.last_node, b.last_node)
