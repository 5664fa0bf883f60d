"""LazyAdam: Adam for dense gradients, touched rows only for sparse ones; sparse-aware clipping."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.train.lazy_adam import LazyAdam, clip_grad_norm_

LR, BETAS, EPS = 0.01, (0.9, 0.999), 1e-8


def _sparse_grad(rows: list[int], values: Tensor, shape: tuple[int, int]) -> Tensor:
    """An uncoalesced row-sparse gradient (repeated rows allowed) of a ``shape`` table."""
    return torch.sparse_coo_tensor(torch.tensor([rows]), values, shape, check_invariants=True)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_dense_gradients_follow_torch_adam(weight_decay: float) -> None:
    torch.manual_seed(0)
    ours = [nn.Parameter(torch.randn(5, 4)), nn.Parameter(torch.randn(3))]
    ref = [nn.Parameter(p.detach().clone()) for p in ours]
    # two groups with their own lr, as the trainer's param_groups
    groups: list[dict[str, Any]] = [{"params": ours[:1]}, {"params": ours[1:], "lr": 0.05, "name": "bias"}]
    ref_groups: list[dict[str, Any]] = [{"params": ref[:1]}, {"params": ref[1:], "lr": 0.05}]
    opt = LazyAdam(groups, lr=LR, betas=BETAS, eps=EPS, weight_decay=weight_decay)
    adam = torch.optim.Adam(ref_groups, lr=LR, betas=BETAS, eps=EPS, weight_decay=weight_decay)
    for step in range(6):
        grads = [torch.randn_like(p) for p in ours]
        for p, q, g in zip(ours, ref, grads):
            p.grad, q.grad = g.clone(), g.clone()
        if step == 3:  # a parameter without a gradient is skipped by both
            ours[1].grad = ref[1].grad = None
        opt.step()
        adam.step()
        for p, q in zip(ours, ref):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    for p, q in zip(ours, ref):
        torch.testing.assert_close(opt.state[p]["exp_avg_sq"], adam.state[q]["exp_avg_sq"], rtol=0, atol=1e-6)
        assert opt.state[p]["step"] == int(adam.state[q]["step"])


def test_sparse_first_step_closed_form_and_untouched_rows_stay() -> None:
    torch.manual_seed(0)
    table = nn.Parameter(torch.randn(6, 3))
    before = table.detach().clone()
    opt = LazyAdam([table], lr=LR, betas=BETAS, eps=EPS)
    # rows 1 and 4, row 1 twice: the coalesced gradient sums the two
    values = torch.tensor([[1.0, -2.0, 0.5], [0.5, 1.0, -3.0], [-0.25, 2.0, 4.0]])
    table.grad = _sparse_grad([1, 4, 1], values, (6, 3))
    opt.step()
    g = torch.zeros(6, 3)
    g[1] = values[0] + values[2]
    g[4] = values[1]
    touched = torch.tensor([1, 4])
    expected = before[touched] - LR * g[touched] / (g[touched].abs() + EPS)  # Adam's first step
    torch.testing.assert_close(table.detach()[touched], expected, rtol=0, atol=1e-7)
    assert table.detach()[1, 1] == before[1, 1]  # -2 + 2: a zero summed entry does not move
    untouched = torch.tensor([0, 2, 3, 5])
    assert torch.equal(table.detach()[untouched], before[untouched])
    state = opt.state[table]
    assert state["step"] == 1
    assert torch.equal(state["exp_avg"][untouched], torch.zeros(4, 3))
    torch.testing.assert_close(state["exp_avg"][touched], (1 - BETAS[0]) * g[touched])
    torch.testing.assert_close(state["exp_avg_sq"][touched], (1 - BETAS[1]) * g[touched] ** 2)

    # second step touches row 2 only: rows 1 and 4 keep values and moments bit for bit
    kept = {k: state[k][touched].clone() for k in ("exp_avg", "exp_avg_sq")}
    kept_values = table.detach()[touched].clone()
    before_2 = table.detach()[2].clone()
    g2 = torch.tensor([[0.3, -0.7, 2.0]])
    table.grad = _sparse_grad([2], g2, (6, 3))
    opt.step()
    assert torch.equal(table.detach()[touched], kept_values)
    for key, value in kept.items():
        assert torch.equal(state[key][touched], value), key
    # row 2's first update, bias-corrected with the *parameter's* step t = 2
    t = 2
    m = (1 - BETAS[0]) * g2[0]
    v = (1 - BETAS[1]) * g2[0] ** 2
    step = LR / (1 - BETAS[0] ** t) * m / (v.sqrt() / math.sqrt(1 - BETAS[1] ** t) + EPS)
    torch.testing.assert_close(table.detach()[2], before_2 - step, rtol=0, atol=1e-7)
    assert state["step"] == 2


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sparse_gradient_over_every_row_equals_adam(weight_decay: float) -> None:
    torch.manual_seed(1)
    ours = nn.Parameter(torch.randn(4, 3))
    ref = nn.Parameter(ours.detach().clone())
    opt = LazyAdam([ours], lr=LR, weight_decay=weight_decay)
    adam = torch.optim.Adam([ref], lr=LR, weight_decay=weight_decay)
    for _ in range(5):
        g = torch.randn(4, 3)
        ours.grad = _sparse_grad([3, 0, 2, 1], g[[3, 0, 2, 1]], (4, 3))
        ref.grad = g
        opt.step()
        adam.step()
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_sparse_weight_decay_reaches_touched_rows_only() -> None:
    table = nn.Parameter(torch.ones(3, 2))
    opt = LazyAdam([table], lr=LR, weight_decay=0.5)
    table.grad = _sparse_grad([1], torch.zeros(1, 2), (3, 2))  # gradient 0, only the L2 term 0.5 * 1
    opt.step()
    assert torch.equal(table.detach()[[0, 2]], torch.ones(2, 2))
    torch.testing.assert_close(table.detach()[1], torch.full((2,), 1.0 - LR * 0.5 / (0.5 + EPS)))


def test_embedding_sparse_gradient_from_autograd() -> None:
    """The gradient of ``F.embedding(..., sparse=True)`` (uncoalesced, repeated ids) is stepped lazily."""
    torch.manual_seed(2)
    table = nn.Parameter(torch.randn(10, 4))
    dense = nn.Parameter(table.detach().clone())
    ids = torch.tensor([[3, 3, 7], [0, 7, 3]])
    w = torch.randn(2, 3, 4)
    (F.embedding(ids, table, sparse=True) * w).sum().backward()
    (F.embedding(ids, dense) * w).sum().backward()
    assert table.grad is not None and table.grad.is_sparse
    LazyAdam([table], lr=LR).step()
    torch.optim.Adam([dense], lr=LR).step()
    # touched rows move as Adam's; untouched rows of dense Adam have a zero gradient and stay too
    torch.testing.assert_close(table, dense, rtol=0, atol=1e-7)


def _run(opt_steps: int, state: dict | None = None) -> tuple[list[nn.Parameter], dict]:
    torch.manual_seed(3)
    params = [nn.Parameter(torch.randn(8, 3)), nn.Parameter(torch.randn(3))]
    opt = LazyAdam(params, lr=LR, weight_decay=0.01)
    generator = torch.Generator().manual_seed(7)
    for step in range(opt_steps):
        rows = torch.randint(0, 8, (5,), generator=generator).tolist()
        if state is not None and step == 3:
            with torch.no_grad():
                for p, value in zip(params, state["params"]):
                    p.copy_(value)
            opt.load_state_dict(state["optimizer"])
        params[0].grad = _sparse_grad(rows, torch.randn(5, 3, generator=generator), (8, 3))
        params[1].grad = torch.randn(3, generator=generator)
        if state is None or step >= 3:
            opt.step()
    return params, opt.state_dict()


def test_state_dict_round_trip_resumes_exactly() -> None:
    straight, _ = _run(6)
    first, saved = _run(3)
    buffer = io.BytesIO()  # the trainer's checkpoint path: torch.save, then load with weights_only
    torch.save({"params": [p.detach() for p in first], "optimizer": saved}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    resumed, state = _run(6, loaded)
    for a, b in zip(straight, resumed):
        assert torch.equal(a, b)
    assert state["state"][0]["step"] == 6


def test_clip_grad_norm_of_sparse_gradients_equals_dense_clipping() -> None:
    torch.manual_seed(4)
    table = nn.Parameter(torch.randn(6, 3))
    bias = nn.Parameter(torch.randn(3))
    ids = torch.tensor([1, 4, 1, 5])
    (F.embedding(ids, table, sparse=True).sum(0) * bias).pow(2).sum().backward()
    dense_table = table.grad.to_dense().clone()  # type: ignore[union-attr]
    dense_bias = bias.grad.clone()  # type: ignore[union-attr]
    ref = [nn.Parameter(torch.zeros(6, 3)), nn.Parameter(torch.zeros(3))]
    ref[0].grad, ref[1].grad = dense_table.clone(), dense_bias.clone()
    expected = nn.utils.clip_grad_norm_(ref, 0.5)
    norm = clip_grad_norm_([table, bias], 0.5)
    torch.testing.assert_close(norm, expected)
    assert table.grad is not None and table.grad.is_sparse and table.grad.is_coalesced()
    torch.testing.assert_close(table.grad.to_dense(), ref[0].grad)
    torch.testing.assert_close(bias.grad, ref[1].grad)
    # below the bound nothing changes
    before = table.grad.to_dense().clone()
    clip_grad_norm_([table, bias], 1e6)
    torch.testing.assert_close(table.grad.to_dense(), before)


def test_invalid_arguments() -> None:
    p = nn.Parameter(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="lr"):
        LazyAdam([p], lr=0.0)
    with pytest.raises(ValueError, match="betas"):
        LazyAdam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="weight_decay"):
        LazyAdam([p], weight_decay=-1.0)
    p.grad = torch.sparse_coo_tensor(torch.tensor([[0], [1]]), torch.tensor([1.0]), (2, 2),
                                     check_invariants=True)  # 2 sparse dims
    with pytest.raises(ValueError, match="row-sparse"):
        LazyAdam([p]).step()
