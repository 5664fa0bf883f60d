"""Adam that updates only the rows a sparse gradient touches (lazy Adam), and sparse-aware clipping.

A large item table trained with a sampled softmax receives, per step, gradient rows
only for the items of the batch and the sampled negatives. With the table's lookups
made sparse (``nn.Embedding(sparse=True)`` / ``F.embedding(..., sparse=True)``) its
gradient is a sparse COO tensor, and :class:`LazyAdam` updates the moments and the
values of those rows only; a dense gradient gets exactly the update of
``torch.optim.Adam``.

**Dense gradients** (every other parameter). With step count :math:`t` of the
parameter, gradient :math:`g_t`, L2 weight decay :math:`\\lambda` (added to the
gradient, as ``torch.optim.Adam``'s ``weight_decay``):

.. math::
    g_t &\\leftarrow g_t + \\lambda \\theta_{t-1} \\\\
    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t \\\\
    v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
    \\theta_t &= \\theta_{t-1} - \\frac{\\eta}{1 - \\beta_1^t} \\cdot
        \\frac{m_t}{\\sqrt{v_t} / \\sqrt{1 - \\beta_2^t} + \\epsilon}

**Sparse gradients** (``grad.is_sparse``, row-sparse: one sparse dimension). The
gradient is coalesced (duplicate rows summed) into rows :math:`R` and values
:math:`G_R`; the same equations run on the rows :math:`r \\in R` only,

.. math::
    m_{t,r} = \\beta_1 m_{t-1,r} + (1 - \\beta_1) G_r, \\qquad
    v_{t,r} = \\beta_2 v_{t-1,r} + (1 - \\beta_2) G_r^2, \\qquad
    \\theta_{t,r} = \\theta_{t-1,r} - \\frac{\\eta}{1 - \\beta_1^t} \\cdot
        \\frac{m_{t,r}}{\\sqrt{v_{t,r}} / \\sqrt{1 - \\beta_2^t} + \\epsilon}

and every row :math:`r \\notin R` keeps its value *and* its moments bit for bit
(its moments are not decayed, unlike dense Adam with a zero gradient row). The bias
correction uses :math:`t`, the number of steps in which the *parameter* had a
gradient (not a per-row count), as TensorFlow's LazyAdam and ``torch.optim.SparseAdam``
do. On the first step a touched row moves by :math:`-\\eta\\, G_r / (|G_r| + \\epsilon)`.
With weight decay :math:`\\lambda > 0` the L2 term :math:`\\lambda \\theta_{t-1,r}` is
added to :math:`G_r` of the touched rows only: untouched rows are not decayed.
Decoupled (AdamW-style) weight decay is not offered.

Either kind of gradient may reach the same parameter on different steps; both read
and write the same state (``step``, ``exp_avg``, ``exp_avg_sq``), which
``state_dict`` / ``load_state_dict`` round-trip like any optimizer's.

:func:`clip_grad_norm_` is ``torch.nn.utils.clip_grad_norm_`` for parameters whose
gradients may be sparse: a sparse gradient is coalesced first (its norm is that of
its summed rows), then every gradient is scaled by the same factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT


class LazyAdam(torch.optim.Optimizer):
    """Adam with lazy (touched-rows-only) updates for sparse gradients; see the module docstring.

    Args:
        params: parameters or parameter groups (dicts with ``params`` and any of the
            options below; extra keys such as ``name`` are kept).
        lr: learning rate :math:`\\eta` (default 1e-3).
        betas: :math:`(\\beta_1, \\beta_2)` (default ``(0.9, 0.999)``).
        eps: :math:`\\epsilon` added to the denominator (default 1e-8).
        weight_decay: L2 penalty :math:`\\lambda` added to the gradient (default 0); for a
            sparse gradient only on the rows it touches.

    State per parameter: ``step`` (int), ``exp_avg`` :math:`m` and ``exp_avg_sq``
    :math:`v` (the parameter's shape).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["step"] = int(state["step"]) + 1
                t = state["step"]
                step_size = lr / (1.0 - beta1**t)  # eta / (1 - beta1^t)
                bias2_sqrt = math.sqrt(1.0 - beta2**t)  # sqrt(1 - beta2^t)
                if param.grad.is_sparse:
                    _sparse_update(param, param.grad, state["exp_avg"], state["exp_avg_sq"], beta1, beta2,
                                   eps, weight_decay, step_size, bias2_sqrt)
                else:
                    _dense_update(param, param.grad, state["exp_avg"], state["exp_avg_sq"], beta1, beta2,
                                  eps, weight_decay, step_size, bias2_sqrt)
        return loss


def _dense_update(param: Tensor, grad: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, beta1: float,
                  beta2: float, eps: float, weight_decay: float, step_size: float, bias2_sqrt: float) -> None:
    """Adam's update of a whole parameter in place (the operations of ``torch.optim.Adam``)."""
    if weight_decay != 0.0:
        grad = grad.add(param, alpha=weight_decay)  # g + lambda theta
    exp_avg.lerp_(grad, 1.0 - beta1)  # m
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)  # v
    denom = (exp_avg_sq.sqrt() / bias2_sqrt).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


def _sparse_update(param: Tensor, grad: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, beta1: float,
                   beta2: float, eps: float, weight_decay: float, step_size: float,
                   bias2_sqrt: float) -> None:
    """Adam's update of the rows a row-sparse gradient touches; the other rows are not read or written."""
    if grad.sparse_dim() != 1:
        raise ValueError(f"LazyAdam handles row-sparse gradients (one sparse dimension, as nn.Embedding "
                         f"gives); got {grad.sparse_dim()} sparse dimensions for a parameter of shape "
                         f"{tuple(param.shape)}")
    grad = grad.coalesce()  # duplicate rows summed
    rows = grad.indices()[0]  # (R,) distinct touched rows
    if rows.numel() == 0:
        return
    values = grad.values()  # (R, ...) G_R
    if weight_decay != 0.0:
        values = values.add(param.index_select(0, rows), alpha=weight_decay)  # G_R + lambda theta_R
    m = exp_avg.index_select(0, rows).lerp_(values, 1.0 - beta1)  # (R, ...) m_R
    v = exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(values, values, value=1.0 - beta2)  # v_R
    exp_avg.index_copy_(0, rows, m)
    exp_avg_sq.index_copy_(0, rows, v)
    denom = (v.sqrt() / bias2_sqrt).add_(eps)
    param.index_copy_(0, rows, param.index_select(0, rows).addcdiv_(m, denom, value=-step_size))


def clip_grad_norm_(parameters: Iterable[Tensor], max_norm: float) -> Tensor:
    """Scale all gradients so that their joint L2 norm is at most ``max_norm``; sparse ones too.

    .. math::
        \\|g\\| = \\Big(\\sum_p \\|g_p\\|_2^2\\Big)^{1/2}, \\qquad
        g_p \\leftarrow g_p \\cdot \\min\\Big(1, \\frac{c}{\\|g\\| + 10^{-6}}\\Big)

    as ``torch.nn.utils.clip_grad_norm_``; a sparse gradient is replaced by its coalesced
    form first (so that repeated rows are summed before the norm) and its values are scaled.

    Args:
        parameters: parameters whose ``.grad`` to clip (those without one are skipped).
        max_norm: :math:`c`.

    Returns:
        The norm :math:`\\|g\\|` before clipping (a 0-dim tensor; 0 without gradients).
    """
    grads: list[Tensor] = []
    for param in parameters:
        if param.grad is None:
            continue
        if param.grad.is_sparse:
            param.grad = param.grad.coalesce()
            grads.append(param.grad.values())  # an alias: scaling it scales the gradient
        else:
            grads.append(param.grad)
    if not grads:
        return torch.zeros(())
    device = grads[0].device
    norms = torch.stack([torch.linalg.vector_norm(g, 2).to(device) for g in grads])  # (P,)
    total = torch.linalg.vector_norm(norms, 2)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.to(g.device, g.dtype))
    return total


__all__ = ["LazyAdam", "clip_grad_norm_"]
