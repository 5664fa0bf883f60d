"""Online clustering losses: soft assignment, Sinkhorn-Knopp, swapped prediction, self-distillation.

References:
    * Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
      Assignments" (SwAV), NeurIPS 2020; Cuturi, "Sinkhorn Distances", NeurIPS 2013 — soft
      assignment, Sinkhorn-Knopp equipartition, swapped prediction.
    * Wei et al., "Leave No One Behind: Online Self-Supervised Self-Distillation for
      Sequential Recommendation" (S4Rec), WWW 2024 — clustering loss (Eq. 3–7),
      cluster-aware self-distillation (Eq. 11–12).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_assignment(z: Tensor, prototypes: Tensor, temperature: float, log: bool = False) -> Tensor:
    """Soft cluster assignment over ``K`` prototypes (S4Rec Eq. 3; SwAV's ``p``).

    .. math::
        p_u^k = \\frac{\\exp(z_u \\mu_k^\\top / \\tau_1)}{\\sum_{k'} \\exp(z_u \\mu_{k'}^\\top / \\tau_1)}

    Normalise ``z`` and ``prototypes`` beforehand for SwAV's cosine scores.

    Args:
        z: ``(B, D)`` sequence representations :math:`z_u`.
        prototypes: ``(K, D)`` :math:`\\mu`.
        temperature: :math:`\\tau_1 > 0`.
        log: return :math:`\\log p` (stable log-softmax) instead of :math:`p`.

    Returns:
        ``(B, K)``, rows summing to 1 (or their logs).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = (z @ prototypes.T) / temperature  # (B, K)
    return F.log_softmax(logits, dim=1) if log else F.softmax(logits, dim=1)


@torch.no_grad()


def sinkhorn_knopp(
    scores: Tensor,
    epsilon: float = 0.05,
    num_iters: int = 3,
    row_marginals: Tensor | None = None,
    col_marginals: Tensor | None = None,
) -> Tensor:
    """Equipartitioned transport plan of a batch onto prototypes (S4Rec Eq. 5–7; SwAV).

    Solves the entropy-regularised assignment problem

    .. math::
        \\max_{Q \\in \\mathcal{Q}} \\operatorname{Tr}(Q^\\top Z \\mu^\\top) + \\epsilon H(Q),
        \\qquad
        \\mathcal{Q} = \\{Q \\in \\mathbb{R}_+^{B \\times K} : Q 1_K = r,\\ Q^\\top 1_B = c\\}

    (Eq. 5–6, by default :math:`r = \\tfrac{1}{B} 1_B`, :math:`c = \\tfrac{1}{K} 1_K`) whose
    solution is :math:`Q^* = \\operatorname{diag}(m) \\exp(Z\\mu^\\top/\\epsilon) \\operatorname{diag}(v)`
    (Eq. 7). Sinkhorn-Knopp alternates the two rescalings, here in log space so that
    scores of any magnitude stay finite:

    .. math::
        \\log Q \\leftarrow \\log Q - \\operatorname{LSE}_b(\\log Q) + \\log c, \\qquad
        \\log Q \\leftarrow \\log Q - \\operatorname{LSE}_k(\\log Q) + \\log r

    Each iteration ends with the row step, so the rows meet :math:`r` exactly and the
    columns meet :math:`c` up to the convergence of ``num_iters`` iterations (SwAV uses
    3). No gradient flows through the result. The SwAV targets are the rows rescaled to
    distributions, :math:`q_u = Q^*_u / r_u` (:func:`swapped_prediction`).

    Args:
        scores: ``(B, K)`` similarities :math:`Z \\mu^\\top`.
        epsilon: entropy weight :math:`\\epsilon > 0` (SwAV: 0.05).
        num_iters: Sinkhorn iterations (>= 1).
        row_marginals: optional ``(B,)`` positive :math:`r` (default ``1/B``).
        col_marginals: optional ``(K,)`` positive :math:`c` (default ``1/K``); ``r`` and
            ``c`` must have the same total.

    Returns:
        ``(B, K)`` plan :math:`Q^*`.
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if num_iters < 1:
        raise ValueError(f"num_iters must be >= 1, got {num_iters}")
    if scores.dim() != 2:
        raise ValueError(f"scores must be (B, K), got {tuple(scores.shape)}")
    bsz, num = scores.shape
    log_q = scores.detach().double() / epsilon  # (B, K) log of exp(Z mu^T / eps), in double
    log_r = (torch.full((bsz,), -math.log(bsz), dtype=torch.float64, device=scores.device)
             if row_marginals is None else row_marginals.double().log())  # (B,)
    log_c = (torch.full((num,), -math.log(num), dtype=torch.float64, device=scores.device)
             if col_marginals is None else col_marginals.double().log())  # (K,)
    if not torch.allclose(log_r.exp().sum(), log_c.exp().sum(), rtol=1e-6):
        raise ValueError("row_marginals and col_marginals must have the same total")
    for _ in range(num_iters):
        log_q = log_q - torch.logsumexp(log_q, dim=0, keepdim=True) + log_c.unsqueeze(0)  # columns -> c
        log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True) + log_r.unsqueeze(1)  # rows -> r
    return log_q.exp().to(scores.dtype)


def cluster_cross_entropy(targets: Tensor, log_p: Tensor) -> Tensor:
    """Clustering loss: cross-entropy of the soft assignment against targets (S4Rec Eq. 4).

    .. math::
        \\mathcal{L}_{Clust} = -\\frac{1}{B} \\sum_u \\sum_k q_u^k \\log p_u^k

    Args:
        targets: ``(B, K)`` target distributions :math:`q_u` (rows sum to 1; no gradient).
        log_p: ``(B, K)`` :math:`\\log p_u` (:func:`soft_assignment` with ``log=True``).

    Returns:
        Scalar mean over rows.
    """
    if targets.shape != log_p.shape:
        raise ValueError(f"targets {tuple(targets.shape)} and log_p {tuple(log_p.shape)} differ")
    return -(targets.detach() * log_p).sum(dim=1).mean()


def swapped_prediction(
    z1: Tensor,
    z2: Tensor,
    prototypes: Tensor,
    temperature: float = 0.1,
    epsilon: float = 0.05,
    num_iters: int = 3,
) -> Tensor:
    """SwAV's swapped prediction between two views (S4Rec Eq. 3–7 over a pair of views).

    Each view's Sinkhorn code is the target of the other view's soft assignment:

    .. math::
        q^v_u = B\\, Q^{*v}_u \\ \\text{(Eq. 7 on } Z^v\\mu^\\top\\text{)}, \\qquad
        \\mathcal{L}_{Clust} = \\tfrac{1}{2}\\big(\\ell(p^1, q^2) + \\ell(p^2, q^1)\\big),
        \\qquad \\ell(p, q) = -\\frac{1}{B} \\sum_u \\sum_k q_u^k \\log p_u^k

    with :math:`p^v` from :func:`soft_assignment` at :math:`\\tau_1` and :math:`Q^{*v}` from
    :func:`sinkhorn_knopp` (uniform marginals, no gradient). Pass the same tensor twice
    for the single-view reading :math:`\\ell(p, q)` of Eq. 4.

    Args:
        z1, z2: ``(B, D)`` representations of the two views (normalised for SwAV).
        prototypes: ``(K, D)`` :math:`\\mu` (normalised for SwAV).
        temperature: :math:`\\tau_1` of the soft assignment (SwAV: 0.1).
        epsilon: Sinkhorn entropy weight (SwAV: 0.05).
        num_iters: Sinkhorn iterations (SwAV: 3).

    Returns:
        Scalar loss.
    """
    s1 = z1 @ prototypes.T  # (B, K) Z^1 mu^T
    s2 = z2 @ prototypes.T  # (B, K) Z^2 mu^T
    q1 = sinkhorn_knopp(s1, epsilon, num_iters) * s1.shape[0]  # (B, K) rows sum to 1
    q2 = sinkhorn_knopp(s2, epsilon, num_iters) * s2.shape[0]  # (B, K)
    log_p1 = F.log_softmax(s1 / temperature, dim=1)  # (B, K) Eq. 3
    log_p2 = F.log_softmax(s2 / temperature, dim=1)  # (B, K)
    return 0.5 * (cluster_cross_entropy(q2, log_p1) + cluster_cross_entropy(q1, log_p2))


def self_distillation_kl(teacher: Tensor, student: Tensor, temperature: float,
                         detach_teacher: bool = True) -> Tensor:
    """KL of a student's temperature softmax from a teacher's, over the last dimension (S4Rec Eq. 11–12).

    .. math::
        e_{t}^i = \\frac{\\exp(t^i / \\tau_3)}{\\sum_{i'} \\exp(t^{i'} / \\tau_3)}, \\quad
        e_{s}^i = \\frac{\\exp(s^i / \\tau_3)}{\\sum_{i'} \\exp(s^{i'} / \\tau_3)}, \\qquad
        \\mathcal{L} = \\frac{1}{B} \\sum_u \\sum_i e_{u,t}^i \\log \\frac{e_{u,t}^i}{e_{u,s}^i}

    In S4Rec the teacher is the assigned intent :math:`\\mu_{h(u)}` and the student a
    view's representation :math:`z_u`; ``i`` runs over the ``D`` embedding coordinates.

    Args:
        teacher: ``(B, D)`` teacher vectors.
        student: ``(B, D)`` student vectors.
        temperature: :math:`\\tau_3 > 0`.
        detach_teacher: stop the gradient through the teacher (default: it is a target).

    Returns:
        Scalar mean KL over rows (0 when the two distributions agree).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if teacher.shape != student.shape:
        raise ValueError(f"teacher {tuple(teacher.shape)} and student {tuple(student.shape)} differ")
    if detach_teacher:
        teacher = teacher.detach()
    log_t = F.log_softmax(teacher / temperature, dim=-1)  # (B, D) log e_t
    log_s = F.log_softmax(student / temperature, dim=-1)  # (B, D) log e_s
    return (log_t.exp() * (log_t - log_s)).sum(dim=-1).mean()
