"""Multi-interest losses: the closest interest's sampled softmax, max-over-interests full CE, orthogonality.

References:
    * Cen et al., "Controllable Multi-Interest Framework for Recommendation" (ComiRec), KDD 2020;
      Li et al., MIND, CIKM 2019 — the closest interest scores the sampled softmax (hard readout).
    * Ma et al., "Disentangled Self-Supervision in Sequential Recommenders" (DSSRec), KDD 2020 —
      the best of K intentions scores the target.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.losses.next_item import check_target_ids, sampled_softmax_ce


def argmax_interest(interests: Tensor, target_emb: Tensor) -> tuple[Tensor, Tensor]:
    """The interest closest to the target item (ComiRec's hard readout; HPCL4SR Eq. 18).

    .. math::
        k^*_u = \\arg\\max_k \\langle q_{u,k}, e_{y_u} \\rangle, \\qquad m_u = q_{u,k^*_u}

    The choice is not differentiable; the gradient flows into the chosen interest only.

    Args:
        interests: ``(B, K, D)`` :math:`q_u` (HPCL4SR: :math:`M_u`).
        target_emb: ``(B, D)`` target item vectors :math:`e_{y_u}`.

    Returns:
        ``(selected (B, D), index (B,))``.
    """
    if interests.dim() != 3 or target_emb.shape != (interests.shape[0], interests.shape[2]):
        raise ValueError(f"interests must be (B, K, D) and target_emb (B, D), got {tuple(interests.shape)} "
                         f"and {tuple(target_emb.shape)}")
    scores = torch.einsum("bkd,bd->bk", interests.detach(), target_emb.detach())  # (B, K)
    index = scores.argmax(dim=1)  # (B,)
    rows = torch.arange(interests.shape[0], device=interests.device)
    return interests[rows, index], index  # (B, D), (B,)


def interest_sampled_softmax(
    interests: Tensor,
    item_emb: Tensor,
    targets: Tensor,
    negatives: Tensor,
    log_q: Tensor | None = None,
) -> Tensor:
    """Sampled softmax of the target against shared negatives, scored by the closest interest.

    ComiRec's objective (its ``build_sampled_softmax_loss`` on the hard readout) and
    HPCL4SR Eq. 18–19: the interest :math:`m_u` of :func:`argmax_interest` scores the
    target and the negatives with :func:`sampled_softmax_ce` (log-Q correction with
    ``log_q``, accidental hits removed):

    .. math::
        s_{u,i} = m_u^\\top e_i - \\log Q(i), \\qquad
        \\mathcal{L}_{rec} = -\\frac{1}{B} \\sum_u \\log
        \\frac{\\exp(s_{u,y_u})}{\\exp(s_{u,y_u}) + \\sum_{j \\in X',\\, j \\ne y_u} \\exp(s_{u,j})}

    Args:
        interests: ``(B, K, D)``.
        item_emb: ``(N + 1, D)``, row 0 = padding.
        targets: ``(B,)`` one target item per row, ids in ``1..N``.
        negatives: ``(M,)`` shared sampled items :math:`X'` (:func:`sample_candidates`).
        log_q: optional ``(N + 1,)`` :math:`\\log Q` of the sampler (:func:`candidate_log_probs`).

    Returns:
        Scalar mean over rows.
    """
    check_target_ids(targets, item_emb.shape[0])
    selected, _ = argmax_interest(interests, item_emb[targets])  # (B, D) m_u
    return sampled_softmax_ce(selected, item_emb, targets, negatives, log_q)


def interest_orthogonality(interests: Tensor) -> Tensor:
    """Capsule regularisation: mean squared cosine between a user's different interests.

    .. math::
        \\mathcal{L}_{CR} = \\frac{1}{B} \\sum_u \\frac{1}{K(K-1)} \\sum_{k \\ne k'}
        \\Big(\\frac{q_{u,k}^\\top q_{u,k'}}{\\lVert q_{u,k} \\rVert \\lVert q_{u,k'} \\rVert}\\Big)^2
        = \\frac{1}{B} \\sum_u \\frac{\\lVert \\hat Q_u \\hat Q_u^\\top - I \\rVert_F^2}{K(K-1)}

    with :math:`\\hat Q_u` the row-normalised interests: zero iff the interests are
    orthogonal (the constraint MIRACLE imposes on its interest capsules; HPCL4SR's
    "capsule regularisation" ablation). ``K = 1`` gives 0.

    Args:
        interests: ``(B, K, D)``.

    Returns:
        Scalar.
    """
    if interests.dim() != 3:
        raise ValueError(f"interests must be (B, K, D), got {tuple(interests.shape)}")
    k = interests.shape[1]
    if k < 2:
        return interests.sum() * 0.0
    x = F.normalize(interests, dim=-1)  # (B, K, D)
    gram = x @ x.transpose(1, 2)  # (B, K, K)
    off = gram - torch.eye(k, device=x.device, dtype=x.dtype)  # (B, K, K), diagonal ~ 0
    return (off * off).sum(dim=(1, 2)).mean() / (k * (k - 1))


#: items per block of :func:`max_interest_full_ce`'s ``(P, K, n)`` scores
MAX_INTEREST_BLOCK = 1024


class _MaxInterestCE(torch.autograd.Function):
    """Mean softmax cross-entropy of ``max_k interests[:, k] @ table.T`` with a hand-written backward.

    Same value and gradients as ``F.cross_entropy(einsum("pkd,nd->pkn").amax(1), targets)``,
    except at an exact tie of the ``K`` scores of an item, whose gradient every tied interest
    receives in full (``amax`` shares it). The ``(P, K, N)`` scores are computed in blocks of
    :data:`MAX_INTEREST_BLOCK` items and never kept: the forward keeps the ``(P, N)`` best
    scores, their unnormalised probabilities and a ``(P, K, N)`` bool of which interest scored
    each item; the backward routes ``softmax - onehot`` through that mask block by block. Not
    twice differentiable.
    """

    @staticmethod
    def forward(ctx: Any, interests: Tensor, table: Tensor, targets: Tensor) -> Tensor:
        rows, k, d = interests.shape
        num = table.shape[0]
        flat = interests.reshape(rows * k, d)  # (P K, D)
        best = interests.new_empty(rows, num)  # (P, N) s_i
        argbest = torch.empty(rows, k, num, dtype=torch.bool, device=interests.device)  # (P, K, N)
        for lo in range(0, num, MAX_INTEREST_BLOCK):
            hi = min(lo + MAX_INTEREST_BLOCK, num)
            scores = (flat @ table[lo:hi].T).view(rows, k, hi - lo)  # (P, K, n) one block of items
            torch.amax(scores, dim=1, out=best[:, lo:hi])
            if k > 1:
                torch.eq(scores, best[:, lo:hi].unsqueeze(1), out=argbest[:, :, lo:hi])
        index = torch.arange(rows, device=targets.device)
        picked = best[index, targets]  # (P,) score of the target
        shift = best.amax(dim=1, keepdim=True)  # (P, 1)
        probs = best.sub_(shift).exp_()  # (P, N) unnormalised, in place
        total = probs.sum(dim=1)  # (P,)
        loss = (total.log() + shift.squeeze(1) - picked).mean()
        ctx.save_for_backward(interests, table, targets, probs, total, argbest)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        interests, table, targets, probs, total, argbest = ctx.saved_tensors
        rows, k, d = interests.shape
        num = table.shape[0]
        flat = interests.reshape(rows * k, d)  # (P K, D)
        # d loss / d s_i = (softmax - onehot) / P (a new buffer: backward may run twice)
        g = probs * ((grad / rows) / total.unsqueeze(1))  # (P, N)
        g[torch.arange(rows, device=targets.device), targets] -= grad / rows
        if k == 1:
            grad_i = (g @ table).view_as(interests) if ctx.needs_input_grad[0] else None
            grad_t = g.T @ flat if ctx.needs_input_grad[1] else None
            return grad_i, grad_t, None
        grad_flat = torch.zeros_like(flat) if ctx.needs_input_grad[0] else None  # (P K, D)
        grad_t = torch.empty_like(table) if ctx.needs_input_grad[1] else None  # (N, D)
        for lo in range(0, num, MAX_INTEREST_BLOCK):
            hi = min(lo + MAX_INTEREST_BLOCK, num)
            routed = (argbest[:, :, lo:hi] * g[:, lo:hi].unsqueeze(1)).view(rows * k, hi - lo)  # (P K, n)
            if grad_flat is not None:
                grad_flat.addmm_(routed, table[lo:hi])
            if grad_t is not None:
                torch.mm(routed.T, flat, out=grad_t[lo:hi])
        grad_i = None if grad_flat is None else grad_flat.view_as(interests)
        return grad_i, grad_t, None


def max_interest_full_ce(interests: Tensor, item_table: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy over the whole catalogue with the best interest's score per item.

    .. math::
        s_i = \\max_k \\langle \\phi^{(k)}, e_i \\rangle, \\qquad
        \\mathcal{L} = -\\log \\frac{\\exp s_{t+1}}{\\sum_{i=1}^{N} \\exp s_i}

    The score is the one the evaluation ranks by (:meth:`interests` + max over ``K``), so
    training and ranking agree; the softmax runs over every real item (column 0, the
    padding item, is left out), as SASRec's full cross-entropy does. With ``K = 1`` this
    is exactly that loss. The backward is hand-written (:class:`_MaxInterestCE`): the
    ``(P, K, N)`` scores are made in blocks of items and not kept, and the gradient of each
    item goes to the interest that scored it (to every one of them on an exact tie).

    Args:
        interests: ``(B, K, D)`` the rows' interest vectors.
        item_table: ``(N + 1, D)`` item vectors, row 0 = padding.
        targets: ``(B,)`` target item ids in ``1..N``.

    Returns:
        Scalar mean over rows (first-order differentiable).
    """
    if interests.dim() != 3 or item_table.dim() != 2 or interests.shape[-1] != item_table.shape[-1]:
        raise ValueError(f"interests must be (B, K, D) and item_table (N + 1, D), got "
                         f"{tuple(interests.shape)} and {tuple(item_table.shape)}")
    if targets.shape != (interests.shape[0],):
        raise ValueError(f"targets must be ({interests.shape[0]},), got {tuple(targets.shape)}")
    check_target_ids(targets, item_table.shape[0])
    if targets.numel() == 0:
        raise ValueError("max_interest_full_ce needs at least one target")
    return _MaxInterestCE.apply(interests.contiguous(), item_table[1:], targets - 1)  # column i-1 is item i
