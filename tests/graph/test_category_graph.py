"""Category co-occurrence graph against hand-counted adjacencies."""

import numpy as np
import pytest
import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.graph.category import category_graph
from graphrec.graph.training import TrainingCSR

# items 1..6 -> categories: 1:A(1) 2:A(1) 3:B(2) 4:C(3) 5:unknown(0) 6:B(2)
CATS = np.array([0, 1, 1, 2, 3, 0, 2])


def _train(seqs: list[list[int]]) -> TrainingCSR:
    ds = SequenceDataset.from_sequences(seqs, num_items=6, item_category=CATS,
                                        category_names=["A", "B", "C"])
    from graphrec.graph.training import training_csr

    return training_csr(ds, protocol="all")


def _dense(g) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((g.num_nodes, g.num_nodes))
    out[g.edge_index[0].numpy(), g.edge_index[1].numpy()] = g.edge_weight.numpy()
    return out


def test_adjacent_counts_symmetric() -> None:
    # category sequences: [A, A, B, C], [C, B, unknown, B]
    g = category_graph(_train([[1, 2, 3, 4], [4, 3, 5, 6]]))
    expected = np.array([
        [0, 1, 0],   # A-B once (A,A is a self pair, dropped)
        [1, 0, 2],   # B-C twice (B,C) and (C,B); B-unknown-B not bridged
        [0, 2, 0],
    ])
    assert g.num_nodes == 3
    np.testing.assert_array_equal(_dense(g), expected)
    assert g.category_names == ["A", "B", "C"]
    assert g.category_count.tolist() == [2, 3, 2]
    # sorted by source then target
    keys = g.edge_index[0] * 3 + g.edge_index[1]
    assert torch.all(keys[1:] > keys[:-1])


def test_self_loops_and_window() -> None:
    g = category_graph(_train([[1, 2, 3, 4]]), self_loops=True)
    np.testing.assert_array_equal(_dense(g), [[1, 1, 0], [1, 0, 1], [0, 1, 0]])
    # window 2 adds pairs 2 steps apart: (A,B) and (A,C)
    g2 = category_graph(_train([[1, 2, 3, 4]]), window=2)
    np.testing.assert_array_equal(_dense(g2), [[0, 2, 1], [2, 0, 1], [1, 1, 0]])


def test_pairs_do_not_cross_users() -> None:
    g = category_graph(_train([[1], [3], [4]]))
    assert g.edge_index.shape == (2, 0)


def test_loo_uses_training_part_only() -> None:
    ds = SequenceDataset.from_sequences([[1, 3, 4, 3]], num_items=6, item_category=CATS)
    g = category_graph(ds)  # training part = [1, 3] -> A-B only
    np.testing.assert_array_equal(_dense(g), [[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    assert g.protocol == "loo"


def test_no_categories_is_a_clear_error() -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 3]], num_items=3)
    with pytest.raises(ValueError, match="no item categories"):
        category_graph(ds)


def test_deterministic() -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 7, size=rng.integers(2, 9)).tolist() for _ in range(50)]
    a, b = category_graph(_train(seqs)), category_graph(_train(seqs))
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.edge_weight, b.edge_weight)
