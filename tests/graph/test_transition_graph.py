"""Item-transition graph: directed next-item counts over training sequences."""

import numpy as np
import pytest
import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.graph.transition import item_transition_graph


def _dense(g) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((g.num_nodes, g.num_nodes))
    out[g.edge_index[0].numpy(), g.edge_index[1].numpy()] = g.edge_weight.numpy()
    return out


def test_counts_and_row_normalisation() -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 1, 2], [2, 3], [3, 3]], num_items=3)
    g = item_transition_graph(ds, protocol="all")
    expected = np.zeros((4, 4))
    expected[1, 2] = 2
    expected[2, 1] = 1
    expected[2, 3] = 1
    expected[3, 3] = 1
    np.testing.assert_array_equal(_dense(g), expected)
    assert g.num_nodes == 4 and g.edge_count.dtype == torch.int64
    rown = _dense(item_transition_graph(ds, protocol="all", normalize="row"))
    np.testing.assert_allclose(rown[2], [0, 0.5, 0, 0.5])
    np.testing.assert_allclose(rown.sum(1), [0, 1, 1, 1])
    no_loops = _dense(item_transition_graph(ds, protocol="all", self_loops=False))
    assert no_loops[3, 3] == 0


def test_no_leak_of_held_out_items() -> None:
    # leave-one-out: 1 -> 2 is training, 2 -> 3 and 3 -> 4 involve held-out targets
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4]], num_items=4)
    g = item_transition_graph(ds)
    assert g.edge_index.tolist() == [[1], [2]]
    assert g.protocol == "loo"


def test_bad_normalisation() -> None:
    ds = SequenceDataset.from_sequences([[1, 2]], num_items=2)
    with pytest.raises(ValueError, match="unknown normalize"):
        item_transition_graph(ds, normalize="col")
