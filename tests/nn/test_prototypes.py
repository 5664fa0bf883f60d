"""Learned and k-means intent prototypes, and sequence pooling."""

from __future__ import annotations

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.nn.kmeans import kmeans
from graphrec.nn.pooling import pool_sequence
from graphrec.nn.prototypes import KMeansIntents, Prototypes


def test_prototypes_are_unit_rows_and_assign_by_cosine() -> None:
    torch.manual_seed(0)
    protos = Prototypes(3, 2)
    with torch.no_grad():
        protos.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 5.0], [-1.0, -1.0]]))
    mu = protos()
    assert torch.allclose(mu.norm(dim=1), torch.ones(3))
    z = torch.tensor([[10.0, 1.0], [0.1, 3.0], [-2.0, -3.0]])
    assert protos.assign(z).tolist() == [0, 1, 2]
    mu.sum().backward()
    assert protos.weight.grad is not None  # trainable
    with pytest.raises(ValueError, match="num_prototypes"):
        Prototypes(1, 2)


def test_kmeans_intents_refit_matches_kmeans_and_lives_in_the_state_dict() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(10, 2, generator=g) + 5, torch.randn(10, 2, generator=g) - 5])  # (20, 2)
    intents = KMeansIntents(2, 2, num_iters=10)
    assert not bool(intents.fitted)
    assignment = intents.refit(x, torch.Generator().manual_seed(1))
    centroids, expected = kmeans(x, 2, 10, torch.Generator().manual_seed(1))
    assert torch.equal(intents.centroids, centroids) and torch.equal(assignment, expected)
    assert bool(intents.fitted)
    assert torch.equal(intents.assign(x), expected)  # nearest centroid = the k-means assignment
    state = intents.state_dict()
    assert set(state) == {"centroids", "fitted"}
    fresh = KMeansIntents(2, 2)
    fresh.load_state_dict(state)
    assert torch.equal(fresh(), intents())


def test_kmeans_intents_on_the_unit_sphere_and_from_batches() -> None:
    intents = KMeansIntents(2, 2, normalize=True)
    batches = [SeqBatch(input_ids=torch.tensor([[1], [2]]), user_ids=torch.arange(2)),
               SeqBatch(input_ids=torch.tensor([[3], [4]]), user_ids=torch.arange(2))]
    table = torch.tensor([[0.0, 0.0], [3.0, 0.1], [0.1, 2.0], [5.0, -0.1], [-0.1, 1.0]])
    generator = torch.Generator().manual_seed(0)
    assignment = intents.refit_from(batches, lambda b: table[b.input_ids[:, 0]], generator)
    assert assignment.tolist() in ([0, 1, 0, 1], [1, 0, 1, 0])
    assert torch.allclose(intents.centroids.norm(dim=1), torch.ones(2))
    assert intents.assign(torch.tensor([[100.0, 1.0]])).item() == assignment[0].item()


def test_pool_sequence_last_mean_concat() -> None:
    states = torch.tensor([[[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]],
                           [[5.0, 5.0], [6.0, 6.0], [7.0, 8.0]]])  # (2, 3, 2)
    valid = torch.tensor([[False, True, True], [True, True, True]])
    assert pool_sequence(states, valid, "last").tolist() == [[3.0, 4.0], [7.0, 8.0]]
    assert torch.allclose(pool_sequence(states, valid, "mean"), torch.tensor([[2.0, 3.0], [6.0, 19 / 3]]))
    assert pool_sequence(states, valid, "concat").tolist() == [[0, 0, 1, 2, 3, 4], [5, 5, 6, 6, 7, 8]]
    with pytest.raises(ValueError, match="unknown pooling"):
        pool_sequence(states, valid, "max")


def test_kmeans_intents_hand_out_unit_vectors_but_assign_by_euclidean_distance() -> None:
    plain = KMeansIntents(2, 2)
    unit = KMeansIntents(2, 2, normalize_vectors=True)
    centroids = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
    for module in (plain, unit):
        module.centroids.copy_(centroids)
    z = torch.tensor([[0.4, 0.3]])  # nearer (Euclidean) to (0, .5) although more aligned with (3, 0)
    assert plain.assign(z).tolist() == unit.assign(z).tolist() == [1]
    torch.testing.assert_close(plain.vectors(), centroids)
    torch.testing.assert_close(unit.vectors(), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
