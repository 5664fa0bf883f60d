"""Contrastive losses: InfoNCE, NT-Xent over two views, prototype negatives, angular margin.

References:
    * van den Oord et al., "Representation Learning with Contrastive Predictive Coding",
      2018 — InfoNCE.
    * Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations"
      (SimCLR), ICML 2020; Xie et al., CL4SRec, ICDE 2022; Chen et al., ICLRec, WWW 2022 —
      NT-Xent over two views, with false-negative mitigation.
    * Wei et al., S4Rec, WWW 2024 — prototype negatives (Eq. 10).
    * Zhu et al., "High-level preferences as positive examples in contrastive learning for
      multi-interest sequential recommendation" (HPCL4SR), World Wide Web 2024 — Eq. 15–19;
      Deng et al., "ArcFace", CVPR 2019 — additive angular margin.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def info_nce(
    a: Tensor,
    b: Tensor,
    temperature: float,
    extra_negatives: Tensor | None = None,
    normalize: bool = False,
) -> Tensor:
    """InfoNCE of anchors ``a`` against positives ``b`` with in-batch negatives.

    Row ``i`` of ``a`` is pulled towards ``b_i`` and pushed from every other
    ``b_j`` (one direction only; call twice with swapped arguments for a
    symmetric loss) and from the optional extra negatives.

    .. math::
        \\mathcal{L} = -\\frac{1}{B} \\sum_i \\log
        \\frac{\\exp(a_i^\\top b_i / \\tau)}
        {\\sum_j \\exp(a_i^\\top b_j / \\tau) + \\sum_m \\exp(a_i^\\top x_m / \\tau)}

    Args:
        a: ``(B, D)`` anchors.
        b: ``(B, D)`` positives, ``b[i]`` pairs with ``a[i]``.
        temperature: :math:`\\tau > 0`.
        extra_negatives: optional ``(M, D)`` negatives shared by all anchors, or
            ``(B, M, D)`` negatives per anchor.
        normalize: L2-normalise all vectors first (cosine similarity).

    Returns:
        Scalar mean loss.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"a and b must both be (B, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    if normalize:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        if extra_negatives is not None:
            extra_negatives = F.normalize(extra_negatives, dim=-1)
    logits = a @ b.T  # (B, B); diagonal = positives
    if extra_negatives is not None:
        if extra_negatives.dim() == 2:
            extra = a @ extra_negatives.T  # (B, M)
        elif extra_negatives.dim() == 3 and extra_negatives.shape[0] == a.shape[0]:
            extra = torch.einsum("bd,bmd->bm", a, extra_negatives)  # (B, M)
        else:
            raise ValueError(
                f"extra_negatives must be (M, D) or (B, M, D) with B = {a.shape[0]}, "
                f"got shape {tuple(extra_negatives.shape)}"
            )
        logits = torch.cat([logits, extra], dim=1)  # (B, B + M)
    labels = torch.arange(a.shape[0], device=a.device)
    return F.cross_entropy(logits / temperature, labels)


def nt_xent(a: Tensor, b: Tensor, temperature: float, normalize: bool = False,
            groups: Tensor | None = None) -> Tensor:
    """Symmetric NT-Xent over two views: each of the ``2B`` vectors against the other ``2B - 1``.

    The contrastive loss of SimCLR as used by CL4SRec (Xie et al., ICDE 2022, Eq. 8)
    and ICLRec (Chen et al., WWW 2022, Eq. 10, the released ``NCELoss``): anchor
    :math:`x_i \\in \\{a_i, b_i\\}` is pulled towards its partner :math:`x_i^+` in the
    other view and pushed from the other ``2B - 2`` vectors of both views.

    .. math::
        \\ell(x_i) = -\\log \\frac{\\exp(x_i^\\top x_i^+ / \\tau)}
        {\\exp(x_i^\\top x_i^+ / \\tau) + \\sum_{x^- \\in S^-_i} \\exp(x_i^\\top x^- / \\tau)},
        \\qquad
        \\mathcal{L} = \\frac{1}{2B} \\sum_{i=1}^{B} \\big(\\ell(a_i) + \\ell(b_i)\\big)

    With ``groups`` (ICLRec's false-negative mitigation) :math:`S^-_i` leaves out every
    vector whose row has the same group as row ``i`` (e.g. the same intent), the
    positive itself excepted.

    Args:
        a: ``(B, D)`` first view.
        b: ``(B, D)`` second view, ``b[i]`` pairs with ``a[i]``.
        temperature: :math:`\\tau > 0`.
        normalize: L2-normalise first (cosine similarity); ``False``: dot products
            (the CL4SRec/ICLRec code).
        groups: optional ``(B,)`` integer group of every row.

    Returns:
        Scalar mean over the ``2B`` anchors.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"a and b must both be (B, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    if normalize:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    bsz = a.shape[0]
    x = torch.cat([a, b], dim=0)  # (2B, D): rows 0..B-1 view a, B..2B-1 view b
    logits = (x @ x.T) / temperature  # (2B, 2B)
    rows = torch.arange(2 * bsz, device=a.device)
    partner = (rows + bsz) % (2 * bsz)  # (2B,) index of each anchor's positive
    if groups is None:
        drop = torch.eye(2 * bsz, dtype=torch.bool, device=a.device)  # (2B, 2B) self-similarity
    else:
        if groups.shape != (bsz,):
            raise ValueError(f"groups must be (B,) = ({bsz},), got {tuple(groups.shape)}")
        g = groups.to(a.device).repeat(2)  # (2B,)
        drop = g.unsqueeze(0) == g.unsqueeze(1)  # (2B, 2B) same group, self included
        drop[rows, partner] = False  # the positive stays
    logits = logits.masked_fill(drop, float("-inf"))
    return F.cross_entropy(logits, partner)


def prototype_negatives(prototypes: Tensor, assignment: Tensor) -> Tensor:
    """Per-anchor negatives: every prototype but the assigned one (S4Rec Eq. 10).

    .. math::
        N_u = [\\mu_{k'}]_{k' \\ne h(u)}

    For :func:`info_nce`'s ``extra_negatives``; :func:`prototype_info_nce` computes the
    same loss without materialising the ``(B, K - 1, D)`` tensor.

    Args:
        prototypes: ``(K, D)`` prototypes :math:`\\mu` (``K >= 2``).
        assignment: ``(B,)`` assigned prototype :math:`h(u)` of every anchor.

    Returns:
        ``(B, K - 1, D)``, the prototypes of each row in their original order.
    """
    num = prototypes.shape[0]
    if num < 2:
        raise ValueError(f"prototype_negatives needs at least 2 prototypes, got {num}")
    keep = torch.arange(num, device=prototypes.device).unsqueeze(0) != assignment.unsqueeze(1)  # (B, K)
    index = keep.nonzero()[:, 1].view(-1, num - 1)  # (B, K - 1) kept prototype ids, row-major
    return prototypes[index]  # (B, K - 1, D)


def prototype_info_nce(
    a: Tensor,
    b: Tensor,
    prototypes: Tensor,
    assignment: Tensor,
    temperature: float,
    normalize: bool = False,
) -> Tensor:
    """InfoNCE with in-batch negatives plus the non-assigned prototypes (S4Rec Eq. 10).

    .. math::
        \\mathcal{L}_{SCL}(z^1_u, z^2_u) = -\\log \\frac{\\exp(z^1_u z^{2\\top}_u / \\tau_2)}
        {\\sum_{n} \\exp(z^1_u z^{2\\top}_n / \\tau_2)
        + \\sum_{k' \\ne h(u)} \\exp(z^1_u \\mu_{k'}^\\top / \\tau_2)}

    averaged over the anchors ``u`` (one direction; S4Rec's Eq. 9 sums both). The
    in-batch sum runs over every row ``n`` of the second view, the positive included
    (the classical InfoNCE); equal to ``info_nce(a, b, temperature,
    extra_negatives=prototype_negatives(prototypes, assignment))``.

    Args:
        a: ``(B, D)`` anchors :math:`z^1`.
        b: ``(B, D)`` positives :math:`z^2`.
        prototypes: ``(K, D)`` :math:`\\mu`.
        assignment: ``(B,)`` :math:`h(u)`, the prototype left out of row ``u``'s negatives.
        temperature: :math:`\\tau_2 > 0`.
        normalize: L2-normalise anchors, positives and prototypes first.

    Returns:
        Scalar mean loss.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"a and b must both be (B, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    if normalize:
        a, b, prototypes = F.normalize(a, dim=-1), F.normalize(b, dim=-1), F.normalize(prototypes, dim=-1)
    rows = torch.arange(a.shape[0], device=a.device)
    to_protos = (a @ prototypes.T).clone()  # (B, K)
    to_protos[rows, assignment] = float("-inf")  # the assigned intent is not a negative
    logits = torch.cat([a @ b.T, to_protos], dim=1)  # (B, B + K); diagonal of the first block = positives
    return F.cross_entropy(logits / temperature, rows)


def additive_angular_margin(cos: Tensor, margin: float) -> Tensor:
    """:math:`\\cos(\\theta + m)` from :math:`\\cos\\theta` (ArcFace, Deng et al., CVPR 2019).

    .. math::
        \\cos(\\theta + m) = \\cos\\theta \\cos m - \\sin\\theta \\sin m, \\qquad
        \\sin\\theta = \\sqrt{1 - \\cos^2\\theta}

    where :math:`\\theta + m \\le \\pi`; beyond it (:math:`\\theta > \\pi - m`) ArcFace's
    monotone continuation :math:`\\cos\\theta - m \\sin m` is used, so a larger angle never
    gets a larger logit. ``margin = 0`` returns ``cos`` unchanged.

    Args:
        cos: any shape, cosines in ``[-1, 1]``.
        margin: :math:`m` in **radians** (``>= 0``).
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 radians, got {margin}")
    if margin == 0:
        return cos
    cos = cos.clamp(-1.0, 1.0)
    sin = torch.sqrt((1.0 - cos * cos).clamp_min(1e-12))
    shifted = cos * math.cos(margin) - sin * math.sin(margin)  # cos(theta + m)
    return torch.where(cos > math.cos(math.pi - margin), shifted, cos - margin * math.sin(margin))


def angular_margin_info_nce(
    a: Tensor,
    b: Tensor,
    temperature: float,
    margin: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """InfoNCE between two views with an additive angular margin on the positive (HPCL4SR Eq. 15–17).

    The vectors come in ``G`` groups of ``K`` pairs (HPCL4SR: a user's low-level
    interests :math:`P_u` and fused interests :math:`M_u`, ``G`` = users). Within a group
    each of the ``2K`` vectors :math:`e_i` is an anchor; its positive :math:`e_{i^*}` is its
    partner in the other view (:math:`P_u^k \\leftrightarrow M_u^k`) and its negatives are
    the other ``2K - 2`` vectors of the group (both views):

    .. math::
        \\ell_i = -\\log \\frac{e^{\\cos(\\theta_{i,i^*} + m)/\\tau}}
        {e^{\\cos(\\theta_{i,i^*} + m)/\\tau} + \\sum_{j \\ne i, i^*} e^{\\cos\\theta_{i,j}/\\tau}},
        \\qquad \\theta_{i,j} = \\arccos \\frac{e_i^\\top e_j}{\\lVert e_i \\rVert \\lVert e_j \\rVert}

    (:func:`additive_angular_margin` for :math:`\\cos(\\theta + m)`). With ``margin = 0`` this is
    the plain InfoNCE of Eq. 14 with cosine similarity — per group, :func:`nt_xent` with
    ``normalize=True``.

    Args:
        a: ``(G, K, D)`` first view (:math:`M_u`).
        b: ``(G, K, D)`` second view (:math:`P_u`), ``b[g, k]`` pairs with ``a[g, k]``.
        temperature: :math:`\\tau > 0`.
        margin: :math:`m` in radians (``>= 0``).
        reduction: ``"mean"`` over all ``2 G K`` anchors, or ``"group_sum"``: the sum
            over a group's ``2K`` anchors (Eq. 17's :math:`\\sum_i`), averaged over groups.

    Returns:
        Scalar loss.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError(f"a and b must both be (G, K, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    if reduction not in ("mean", "group_sum"):
        raise ValueError(f"reduction must be 'mean' or 'group_sum', got {reduction!r}")
    groups, k, _ = a.shape
    x = F.normalize(torch.cat([a, b], dim=1), dim=-1)  # (G, 2K, D)
    cos = x @ x.transpose(1, 2)  # (G, 2K, 2K) cos(theta_ij)
    rows = torch.arange(2 * k, device=a.device)
    partner = (rows + k) % (2 * k)  # (2K,) i* of each anchor
    is_pos = torch.zeros(2 * k, 2 * k, dtype=torch.bool, device=a.device)
    is_pos[rows, partner] = True  # (2K, 2K)
    eye = torch.eye(2 * k, dtype=torch.bool, device=a.device)  # (2K, 2K)
    logits = torch.where(is_pos, additive_angular_margin(cos, margin), cos)  # (G, 2K, 2K)
    logits = logits.masked_fill(eye, float("-inf")) / temperature
    per_anchor = F.cross_entropy(logits.reshape(groups * 2 * k, 2 * k), partner.repeat(groups),
                                 reduction="none")  # (G 2K,)
    if reduction == "group_sum":
        return per_anchor.sum() / max(groups, 1)
    return per_anchor.mean()
