"""Self-attentive extractor (ComiRec-SA), HPCL4SR's context attention and position pooling, the objective."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphrec.losses import candidate_log_probs, sampled_softmax_ce
from graphrec.nn.multi_interest import (
    ContextSelfAttention,
    InterestSampledSoftmax,
    PositionPooling,
    SelfAttentiveExtractor,
    candidate_rows,
)


def test_self_attentive_extractor_shapes_gradients_and_masking() -> None:
    torch.manual_seed(0)
    layer = SelfAttentiveExtractor(8, num_interests=3)
    keys = torch.randn(2, 5, 8, requires_grad=True)
    values = torch.randn(2, 5, 8, requires_grad=True)
    valid = torch.tensor([[False, False, True, True, True], [True] * 5])
    weights = layer.attention(keys, valid)
    assert weights.shape == (2, 3, 5)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3)) and torch.all(weights[0, :, :2] == 0)
    out = layer(keys, values, valid)
    assert out.shape == (2, 3, 8)
    assert torch.allclose(out, weights @ values)  # V = A^T E
    out.sum().backward()
    assert keys.grad is not None and values.grad is not None and layer.inner.weight.grad is not None
    assert torch.all(values.grad[0, :2] == 0) and values.grad[0, 2:].abs().sum() > 0  # padding ignored
    # padding contents never matter; an all-padding row stays finite
    noisy = values.detach().clone()
    noisy[0, :2] = 100.0
    assert torch.allclose(layer(keys, noisy, valid)[0], out[0].detach())
    empty = layer(keys, torch.zeros_like(values), torch.zeros(2, 5, dtype=torch.bool))
    assert torch.isfinite(empty).all() and torch.all(empty == 0)


def test_context_attention_closed_form() -> None:
    layer = ContextSelfAttention(2)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.eye(2))
    x = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])  # first column = padding
    valid = torch.tensor([[False, True, True]])
    out = layer(x, valid)
    e = torch.exp(torch.tensor(1.0))
    # item 1: scores (1, 0) over the real items -> alpha = (e, 1) / (e + 1)
    a1 = torch.tensor([e, 1.0]) / (e + 1)
    expected1 = x[0, 1] + a1[0] * x[0, 1] + a1[1] * x[0, 2]
    assert torch.allclose(out[0, 1], expected1, atol=1e-6)
    assert torch.all(out[0, 0] == 0)  # padding stays zero


def test_position_pooling_closed_form_and_alignment() -> None:
    pool = PositionPooling(num_interests=2, max_len=4)
    with torch.no_grad():
        pool.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, -1.0]]))
    h = torch.tensor([[[5.0], [1.0], [10.0]]])  # width 3 -> weight columns 1..3; first = padding
    valid = torch.tensor([[False, True, True]])
    out = pool(h, valid)
    assert out.shape == (1, 2, 1)
    assert out[0, :, 0].tolist() == [3.0 * 1 + 4.0 * 10, 1.0 * 1 - 1.0 * 10]


def test_objective_scores_with_the_closest_interest() -> None:
    torch.manual_seed(1)
    items = torch.randn(11, 4)
    interests = torch.randn(3, 2, 4)
    targets = torch.tensor([1, 5, 7])
    objective = InterestSampledSoftmax(10, num_negatives=6, sampler="uniform")
    negatives = torch.tensor([2, 3, 4, 8, 9, 10])
    loss = objective(interests, items, targets, negatives)
    best = torch.einsum("bkd,bd->bk", interests, items[targets]).argmax(1)
    chosen = interests[torch.arange(3), best]
    expected = sampled_softmax_ce(chosen, items, targets, negatives, candidate_log_probs(10, "uniform"))
    assert loss == pytest.approx(float(expected), abs=1e-6)
    drawn = objective.sample()
    assert drawn.shape == (6,) and int(drawn.min()) >= 1 and int(drawn.max()) <= 10
    with pytest.raises(ValueError, match="sampler"):
        InterestSampledSoftmax(10, sampler="zipf")


def test_sparse_lookup_gives_the_dense_loss_and_gradient() -> None:
    torch.manual_seed(2)
    objective = InterestSampledSoftmax(12, num_negatives=9)  # log-uniform: log Q differs per item
    interests = torch.randn(4, 3, 5)
    targets = torch.tensor([3, 3, 7, 12])
    negatives = torch.tensor([1, 3, 3, 5, 7, 9, 11, 12, 2])  # repeats and accidental hits
    table = torch.randn(13, 5)
    out = {}
    for sparse in (False, True):
        weight = nn.Parameter(table.clone())
        loss = objective(interests, weight, targets, negatives, sparse=sparse)
        loss.backward()
        assert weight.grad is not None and weight.grad.is_sparse == sparse
        out[sparse] = (loss.detach(), weight.grad.to_dense() if sparse else weight.grad)
    assert torch.equal(out[True][0], out[False][0])
    torch.testing.assert_close(out[True][1], out[False][1], rtol=0, atol=1e-7)
    rows, local_t, local_n, local_q = candidate_rows(table, targets, negatives, objective.log_q)
    ids = torch.unique(torch.cat([targets, negatives]))
    assert rows.shape == (len(ids) + 1, 5) and torch.equal(rows[0], torch.zeros(5))
    assert torch.equal(rows[local_t], table[targets]) and torch.equal(rows[local_n], table[negatives])
    assert local_q is not None and torch.equal(local_q[local_n], objective.log_q[negatives])
    with pytest.raises(ValueError, match="real item ids"):
        candidate_rows(table, torch.tensor([0, 1]), negatives)
