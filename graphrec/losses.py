"""Training losses as pure functions.

Every function takes plain tensors and returns a scalar (mean over rows). Item
tables follow the library convention: ``item_emb`` is ``(N + 1, D)`` with row 0 =
padding, which never acts as a candidate. Models call :func:`next_item_loss` for
their next-item objective rather than re-implementing the selection of
non-padding positions.

References:
    * Kang & McAuley, "Self-Attentive Sequential Recommendation" (SASRec), ICDM 2018 — BCE
      with one sampled negative per position.
    * Jean et al., "On Using Very Large Target Vocabulary for Neural Machine Translation",
      ACL 2015; Bengio & Senecal, IEEE TNN 2008 — sampled softmax with log-Q correction.
    * Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
      Recommendations", RecSys 2019 — shared negatives, log-Q correction.
    * van den Oord et al., "Representation Learning with Contrastive Predictive Coding",
      2018 — InfoNCE.
    * Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations"
      (SimCLR), ICML 2020; Xie et al., CL4SRec, ICDE 2022; Chen et al., ICLRec, WWW 2022 —
      NT-Xent over two views, with false-negative mitigation.
    * Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
      Assignments" (SwAV), NeurIPS 2020; Cuturi, "Sinkhorn Distances", NeurIPS 2013 — soft
      assignment, Sinkhorn-Knopp equipartition, swapped prediction.
    * Wei et al., "Leave No One Behind: Online Self-Supervised Self-Distillation for
      Sequential Recommendation" (S4Rec), WWW 2024 — prototype negatives (Eq. 10),
      clustering loss (Eq. 3–7), cluster-aware self-distillation (Eq. 11–12).
    * Cen et al., "Controllable Multi-Interest Framework for Recommendation" (ComiRec), KDD 2020;
      Li et al., MIND, CIKM 2019 — the closest interest scores the sampled softmax (hard readout).
    * Zhu et al., "High-level preferences as positive examples in contrastive learning for
      multi-interest sequential recommendation" (HPCL4SR), World Wide Web 2024 — Eq. 15–19;
      Deng et al., "ArcFace", CVPR 2019 — additive angular margin.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

NextItemLoss = Literal["ce", "sampled", "bce"]
NEXT_ITEM_LOSSES: tuple[str, ...] = ("ce", "sampled", "bce")


def _check_targets(targets: Tensor, num_rows: int) -> None:
    if targets.numel() and int(targets.min()) < 1:
        raise ValueError("targets must be real item ids >= 1 (0 is padding); select positions first")
    if targets.numel() and int(targets.max()) >= num_rows:
        raise ValueError(f"target id {int(targets.max())} out of range for an item table of {num_rows} rows")


class _SoftmaxCE(torch.autograd.Function):
    """Mean softmax cross-entropy of ``h @ table.T`` with a hand-written backward.

    Same value and gradients as ``F.cross_entropy(h @ table.T, targets)``, but the
    ``(P, N)`` logits buffer is turned into unnormalised probabilities in place and
    the gradient is one scaled copy of it, saving several full passes over the
    largest tensor of a training step (about a third of the loss's time on CPU).
    Not twice differentiable.
    """

    @staticmethod
    def forward(ctx: Any, h: Tensor, table: Tensor, targets: Tensor) -> Tensor:
        logits = h @ table.T  # (P, N)
        rows = torch.arange(targets.shape[0], device=targets.device)
        picked = logits[rows, targets]  # (P,) logit of the target
        shift = logits.amax(dim=1, keepdim=True)  # (P, 1)
        probs = logits.sub_(shift).exp_()  # (P, N) unnormalised, in place
        total = probs.sum(dim=1)  # (P,)
        loss = (total.log() + shift.squeeze(1) - picked).mean()
        ctx.save_for_backward(h, table, targets, probs, total)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        h, table, targets, probs, total = ctx.saved_tensors
        num = targets.shape[0]
        # d loss / d logits = (softmax - onehot) / P (a new buffer: backward may run twice)
        g = probs * ((grad / num) / total.unsqueeze(1))  # (P, N)
        g[torch.arange(num, device=targets.device), targets] -= grad / num
        grad_h = g @ table if ctx.needs_input_grad[0] else None  # (P, D)
        grad_table = g.T @ h if ctx.needs_input_grad[1] else None  # (N, D)
        return grad_h, grad_table, None


def full_softmax_ce(hidden: Tensor, item_emb: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy of a softmax over all real items (padding row 0 excluded).

    .. math::
        \\mathcal{L} = \\frac{1}{P} \\sum_{p=1}^{P}
        \\Big(-h_p^\\top e_{y_p} + \\log \\sum_{i=1}^{N} \\exp(h_p^\\top e_i)\\Big)

    Args:
        hidden: ``(P, D)`` sequence representations.
        item_emb: ``(N + 1, D)`` item table, row 0 = padding.
        targets: ``(P,)`` target item ids in ``1..N``.

    Returns:
        Scalar mean loss (first-order differentiable).
    """
    _check_targets(targets, item_emb.shape[0])
    if targets.numel() == 0:
        raise ValueError("full_softmax_ce needs at least one target")
    return _SoftmaxCE.apply(hidden, item_emb[1:], targets - 1)  # column i-1 is item i


def sampled_softmax_ce(
    hidden: Tensor,
    item_emb: Tensor,
    targets: Tensor,
    negatives: Tensor,
    log_q: Tensor | None = None,
) -> Tensor:
    """Sampled softmax with negatives shared across the batch.

    Each row's candidates are its positive plus the ``M`` shared negatives;
    negatives equal to the row's target (accidental hits) are masked out. With
    ``log_q`` the logit of every candidate ``i`` is corrected by its log sampling
    probability (log-Q correction), which makes the estimate consistent for the
    full softmax under a non-uniform sampler:

    .. math::
        s_{p,i} = h_p^\\top e_i - \\log Q(i), \\qquad
        \\mathcal{L} = \\frac{1}{P} \\sum_p \\Big(-s_{p,y_p} + \\log\\big(e^{s_{p,y_p}}
        + \\sum_{m:\\, n_m \\ne y_p} e^{s_{p,n_m}}\\big)\\Big)

    Args:
        hidden: ``(P, D)``.
        item_emb: ``(N + 1, D)``, row 0 = padding.
        targets: ``(P,)`` item ids in ``1..N``.
        negatives: ``(M,)`` sampled item ids in ``1..N``, shared by all rows.
        log_q: optional ``(N + 1,)`` log sampling probability of every item id.

    Returns:
        Scalar mean loss.
    """
    _check_targets(targets, item_emb.shape[0])
    if negatives.dim() != 1:
        raise ValueError(
            f"negatives must be (M,) shared across the batch, got shape {tuple(negatives.shape)}"
        )
    pos = (hidden * item_emb[targets]).sum(-1, keepdim=True)  # (P, 1)
    neg = hidden @ item_emb[negatives].T  # (P, M)
    if log_q is not None:
        pos = pos - log_q[targets].unsqueeze(1)  # (P, 1)
        neg = neg - log_q[negatives].unsqueeze(0)  # (P, M)
    hit = negatives.unsqueeze(0) == targets.unsqueeze(1)  # (P, M) accidental hits
    neg = neg.masked_fill(hit, float("-inf"))
    logits = torch.cat([pos, neg], dim=1)  # (P, 1 + M); column 0 = positive
    return (torch.logsumexp(logits, dim=1) - pos.squeeze(1)).mean()


def bce_with_negatives(hidden: Tensor, item_emb: Tensor, targets: Tensor, negatives: Tensor) -> Tensor:
    """Binary cross-entropy of the positive against per-row sampled negatives (SASRec).

    With one negative per row this is the original SASRec objective; with ``M``
    negatives their terms are averaged. Negatives equal to the target are ignored.

    .. math::
        \\mathcal{L} = \\frac{1}{P} \\sum_p \\Big(-\\log \\sigma(h_p^\\top e_{y_p})
        - \\frac{1}{|\\mathcal{N}_p|} \\sum_{n \\in \\mathcal{N}_p}
        \\log\\big(1 - \\sigma(h_p^\\top e_n)\\big)\\Big)

    Args:
        hidden: ``(P, D)``.
        item_emb: ``(N + 1, D)``, row 0 = padding.
        targets: ``(P,)`` item ids in ``1..N``.
        negatives: ``(P,)`` (one per row) or ``(P, M)`` item ids in ``1..N``.

    Returns:
        Scalar mean loss.
    """
    _check_targets(targets, item_emb.shape[0])
    if negatives.dim() == 1:
        negatives = negatives.unsqueeze(1)  # (P, 1)
    if negatives.dim() != 2 or negatives.shape[0] != targets.shape[0]:
        raise ValueError(
            f"negatives must be (P,) or (P, M) with P = {targets.shape[0]}, "
            f"got shape {tuple(negatives.shape)}"
        )
    pos = (hidden * item_emb[targets]).sum(-1)  # (P,)
    neg = (hidden.unsqueeze(1) * item_emb[negatives]).sum(-1)  # (P, 1, D) * (P, M, D) -> (P, M)
    keep = (negatives != targets.unsqueeze(1)).to(neg.dtype)  # (P, M)
    # -log sigma(x) = softplus(-x); -log(1 - sigma(x)) = softplus(x)
    neg_term = (F.softplus(neg) * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (P,)
    return (F.softplus(-pos) + neg_term).mean()


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


def next_item_loss(
    hidden: Tensor,
    target_ids: Tensor,
    item_emb: Tensor,
    kind: str = "ce",
    num_negatives: int = 256,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Next-item loss over every non-padding position of a batch.

    Positions with ``target_ids == 0`` are dropped *before* scoring, so padding
    costs no matmul. Then, on the ``P`` remaining positions:

    * ``"ce"``: :func:`full_softmax_ce` over all ``N`` items;
    * ``"sampled"``: :func:`sampled_softmax_ce` with ``num_negatives`` uniform
      negatives shared by the batch (uniform sampling: the log-Q term is constant
      and cancels);
    * ``"bce"``: :func:`bce_with_negatives` with ``num_negatives`` uniform negatives
      drawn independently per position (``num_negatives=1`` is the original SASRec).

    Args:
        hidden: ``(B, L, D)`` per-position sequence states.
        target_ids: ``(B, L)`` next item at each position, 0 where none.
        item_emb: ``(N + 1, D)`` item table, row 0 = padding.
        kind: ``"ce"``, ``"sampled"`` or ``"bce"``.
        num_negatives: negatives for ``"sampled"`` (shared) or ``"bce"`` (per position).
        generator: optional RNG for the negatives.

    Returns:
        Scalar mean loss over the non-padding positions (0 when there are none).
    """
    if kind not in NEXT_ITEM_LOSSES:
        raise ValueError(f"unknown next-item loss {kind!r}; valid: {list(NEXT_ITEM_LOSSES)}")
    if hidden.shape[:2] != target_ids.shape:
        raise ValueError(
            f"hidden (B, L, D) = {tuple(hidden.shape)} does not match "
            f"target_ids (B, L) = {tuple(target_ids.shape)}"
        )
    mask = target_ids > 0  # (B, L)
    h = hidden[mask]  # (P, D)
    targets = target_ids[mask]  # (P,)
    if targets.numel() == 0:
        return hidden.sum() * 0.0
    if kind == "ce":
        return full_softmax_ce(h, item_emb, targets)
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1 for loss {kind!r}, got {num_negatives}")
    num_items = item_emb.shape[0] - 1
    size = (num_negatives,) if kind == "sampled" else (targets.shape[0], num_negatives)
    negatives = torch.randint(1, num_items + 1, size, device=item_emb.device, generator=generator)
    if kind == "sampled":
        return sampled_softmax_ce(h, item_emb, targets, negatives)
    return bce_with_negatives(h, item_emb, targets, negatives)


# ----------------------------------------------------------------------------- contrastive, clustering


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



# ----------------------------------------------------------------------------- multi-interest

#: negative samplers of :func:`candidate_log_probs`
CANDIDATE_SAMPLERS: tuple[str, ...] = ("uniform", "log_uniform")


def candidate_log_probs(num_items: int, kind: str = "log_uniform",
                        item_counts: Tensor | None = None) -> Tensor:
    """Log sampling probability :math:`\\log Q(i)` of a negative sampler over items ``1..N``.

    * ``"uniform"``: :math:`Q(i) = 1/N`;
    * ``"log_uniform"``: the Zipfian sampler of TensorFlow's ``sampled_softmax_loss``
      (``log_uniform_candidate_sampler``), which ComiRec and MIND train with, over the
      items ranked by training frequency (rank :math:`r_i = 0` for the most frequent):

      .. math::
          Q(i) = \\frac{\\log(r_i + 2) - \\log(r_i + 1)}{\\log(N + 1)}

      The TensorFlow sampler ranks by item *id*; the ComiRec preprocessing numbers items
      by decreasing frequency, so ranking by training count is the same sampler on data
      numbered otherwise. Without ``item_counts`` the ids are the ranks (TensorFlow's
      literal behaviour). Ties keep the id order.

    Args:
        num_items: ``N``.
        kind: ``"uniform"`` or ``"log_uniform"``.
        item_counts: optional ``(N + 1,)`` training interactions per item (entry 0 ignored).

    Returns:
        ``(N + 1,)`` float32 :math:`\\log Q`, entry 0 (padding) ``-inf``; :math:`\\sum_i Q(i) = 1`.
    """
    if kind not in CANDIDATE_SAMPLERS:
        raise ValueError(f"unknown negative sampler {kind!r}; valid: {list(CANDIDATE_SAMPLERS)}")
    if num_items < 1:
        raise ValueError(f"num_items must be >= 1, got {num_items}")
    out = torch.full((num_items + 1,), float("-inf"), dtype=torch.float64)
    if kind == "uniform":
        out[1:] = -math.log(num_items)
        return out.float()
    if item_counts is None:
        rank = torch.arange(num_items, dtype=torch.float64)  # (N,) rank = id - 1
    else:
        counts = torch.as_tensor(item_counts).reshape(-1)
        if counts.numel() != num_items + 1:
            raise ValueError(f"item_counts must have N + 1 = {num_items + 1} entries, got {counts.numel()}")
        order = torch.sort(-counts[1:].double(), stable=True).indices  # (N,) items by falling count
        rank = torch.empty(num_items, dtype=torch.float64)
        rank[order] = torch.arange(num_items, dtype=torch.float64)  # (N,) rank of item i + 1
    out[1:] = torch.log(torch.log((rank + 2.0) / (rank + 1.0)) / math.log(num_items + 1.0))
    return out.float()


def sample_candidates(log_q: Tensor, num: int, generator: torch.Generator | None = None) -> Tensor:
    """``(num,)`` item ids drawn with replacement from :math:`Q` (``log_q`` from :func:`candidate_log_probs`).

    Drawn on the device of ``log_q`` (the generator, if given, must live there).
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    return torch.multinomial(log_q.exp(), num, replacement=True, generator=generator)


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
    _check_targets(targets, item_emb.shape[0])
    selected, _ = argmax_interest(interests, item_emb[targets])  # (B, D) m_u
    return sampled_softmax_ce(selected, item_emb, targets, negatives, log_q)


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



# ----------------------------------------------------------------------------- DSSRec (Ma et al., KDD 2020)


#: items per block of :func:`max_interest_full_ce`'s ``(P, K, n)`` scores
MAX_INTEREST_BLOCK = 1024


def disentangled_seq2item(intents: Tensor, target_emb: Tensor, scale: float | None = None) -> Tensor:
    """DSSRec's seq2item loss (Eq. 6): the best of ``K`` intentions against every in-batch (item, intention).

    .. math::
        \\mathcal{L}_{s2i}(u, t) = -\\log \\frac{\\max_k \\exp(s\\, h_{t+1}^{(u)} \\cdot \\phi^{(k)}_u)}
        {\\sum_{(u', t') \\in \\mathcal{B}} \\sum_{k'} \\exp(s\\, h_{t'+1}^{(u')} \\cdot \\phi^{(k')}_u)},
        \\qquad s = 1/\\sqrt{D}

    The denominator runs over the next items of every row of the batch (the row's own
    included) and over every intention of the row's sequence.

    Args:
        intents: ``(B, K, D)`` :math:`\\phi^{(k)}(x_{1:t})`.
        target_emb: ``(B, D)`` the next items' vectors :math:`h_{t+1}`.
        scale: :math:`s` (default :math:`1/\\sqrt D`).

    Returns:
        Scalar mean over rows.
    """
    if intents.dim() != 3 or target_emb.shape != (intents.shape[0], intents.shape[2]):
        raise ValueError(f"intents must be (B, K, D) and target_emb (B, D), got {tuple(intents.shape)} "
                         f"and {tuple(target_emb.shape)}")
    s = 1.0 / math.sqrt(intents.shape[-1]) if scale is None else float(scale)
    logits = torch.einsum("bkd,cd->bck", intents, target_emb) * s  # (B, B', K) h_{t'+1} . phi^(k)_u
    rows = torch.arange(intents.shape[0], device=intents.device)
    positive = logits[rows, rows].amax(dim=1)  # (B,) max_k over the row's own next item
    return (logits.flatten(1).logsumexp(dim=1) - positive).mean()


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
    _check_targets(targets, item_table.shape[0])
    if targets.numel() == 0:
        raise ValueError("max_interest_full_ce needs at least one target")
    return _MaxInterestCE.apply(interests.contiguous(), item_table[1:], targets - 1)  # column i-1 is item i


def latent_seq2seq_losses(intents: Tensor, future: Tensor, scale: float | None = None,
                          groups: Tensor | None = None) -> Tensor:
    """DSSRec's latent seq2seq loss (Eq. 3) of every sample ``(u, t, k)`` of the batch, ``(B, K)``.

    .. math::
        \\mathcal{L}_{s2s}(u, t, k) = -\\log \\frac{\\exp(s\\, \\psi^{(k)}_u \\cdot \\phi^{(k)}_u)}
        {\\sum_{(u', t') \\in \\mathcal{B}} \\sum_{k'} \\exp(s\\, \\psi^{(k')}_{u'} \\cdot \\phi^{(k)}_u)}

    with :math:`\\phi^{(k)}_u = \\phi^{(k)}(x_{1:t})` the input's and
    :math:`\\psi^{(k)}_u = \\phi^{(k)}(x_{T:t+1})` the reversed future's representation.

    ``groups`` removes from every sample's denominator the *other* samples of its group
    (their futures under every intention; the sample's own future under the other
    intentions stays): with several split points of one sequence in a batch, a
    neighbouring split's future overlaps the sample's own almost entirely and is not a
    negative in the sense of the paper, whose batches hold one split point per user.

    Args:
        intents: ``(B, K, D)`` :math:`\\phi`.
        future: ``(B, K, D)`` :math:`\\psi`.
        scale: :math:`s` (default :math:`1/\\sqrt D`).
        groups: ``(B,)`` integer group of every sample (e.g. its row), or ``None``
            (every other sample of the batch is a negative).

    Returns:
        ``(B, K)`` per-sample losses.
    """
    if intents.dim() != 3 or future.shape != intents.shape:
        raise ValueError(f"intents and future must both be (B, K, D), got {tuple(intents.shape)} "
                         f"and {tuple(future.shape)}")
    bsz, k, d = intents.shape
    s = 1.0 / math.sqrt(d) if scale is None else float(scale)
    logits = (intents.reshape(bsz * k, d) * s) @ future.reshape(bsz * k, d).T  # (B K, B' K') row (u, k)
    if groups is not None:
        if groups.shape != (bsz,):
            raise ValueError(f"groups must be ({bsz},), got {tuple(groups.shape)}")
        sample = torch.arange(bsz, device=intents.device)
        hidden = (groups.unsqueeze(1) == groups.unsqueeze(0)) & (sample.unsqueeze(1) != sample.unsqueeze(0))
        hidden = hidden.repeat_interleave(k, dim=0).repeat_interleave(k, dim=1)  # (B K, B K)
        logits = logits.masked_fill(hidden, float("-inf"))
    labels = torch.arange(bsz * k, device=intents.device)  # (u, k) pairs with (u, k)
    return F.cross_entropy(logits, labels, reduction="none").view(bsz, k)  # (B, K)


def confidence_mask(losses: Tensor, keep_ratio: float) -> Tensor:
    """DSSRec's selection of high-confidence samples: the ``ceil(λ n)`` smallest losses, as a bool mask.

    .. math::
        \\mathbb{I}[\\mathcal{L}(u, t, k) \\le \\tau], \\qquad
        \\tau = \\text{the } \\lceil \\lambda n \\rceil\\text{-th smallest of the } n \\text{ losses}

    Exactly :math:`\\lceil \\lambda n \\rceil` entries are kept (ties broken by position,
    by ``topk``); the selection reads detached values, so no gradient flows through it.

    Args:
        losses: any shape, ``n`` entries.
        keep_ratio: :math:`\\lambda \\in (0, 1]` (1 keeps everything).

    Returns:
        Bool mask of ``losses``' shape.
    """
    if not 0.0 < keep_ratio <= 1.0:
        raise ValueError(f"keep_ratio must lie in (0, 1], got {keep_ratio}")
    flat = losses.detach().flatten()  # (n,)
    keep = min(flat.numel(), math.ceil(keep_ratio * flat.numel() - 1e-9))
    mask = torch.zeros_like(flat, dtype=torch.bool)
    if keep > 0:
        mask[torch.topk(flat, keep, largest=False).indices] = True
    return mask.view_as(losses)


def latent_seq2seq_loss(intents: Tensor, future: Tensor, keep_ratio: float = 1.0,
                        scale: float | None = None, groups: Tensor | None = None) -> Tensor:
    """DSSRec's seq2seq term: :func:`latent_seq2seq_losses` averaged over the :func:`confidence_mask`.

    .. math::
        \\mathcal{L}_{s2s}(\\mathcal{B}) = \\frac{1}{\\lceil \\lambda B K \\rceil}
        \\sum_{(u, t) \\in \\mathcal{B}} \\sum_k \\mathcal{L}_{s2s}(u, t, k)\\,
        \\mathbb{I}[\\mathcal{L}_{s2s}(u, t, k) \\le \\tau]

    (the paper sums; the mean over the kept samples keeps the term's scale independent
    of the batch size and of :math:`\\lambda`).

    Args:
        intents, future: ``(B, K, D)``, as :func:`latent_seq2seq_losses`.
        keep_ratio: :math:`\\lambda \\in (0, 1]`.
        scale: :math:`s` (default :math:`1/\\sqrt D`).
        groups: ``(B,)`` or ``None``, as :func:`latent_seq2seq_losses`.

    Returns:
        Scalar.
    """
    losses = latent_seq2seq_losses(intents, future, scale, groups)  # (B, K)
    mask = confidence_mask(losses, keep_ratio)  # (B, K)
    return (losses * mask).sum() / mask.sum().clamp_min(1)



__all__ = [
    "CANDIDATE_SAMPLERS",
    "NEXT_ITEM_LOSSES",
    "NextItemLoss",
    "additive_angular_margin",
    "angular_margin_info_nce",
    "argmax_interest",
    "bce_with_negatives",
    "candidate_log_probs",
    "confidence_mask",
    "disentangled_seq2item",
    "cluster_cross_entropy",
    "full_softmax_ce",
    "info_nce",
    "interest_orthogonality",
    "interest_sampled_softmax",
    "latent_seq2seq_loss",
    "latent_seq2seq_losses",
    "max_interest_full_ce",
    "next_item_loss",
    "nt_xent",
    "prototype_info_nce",
    "prototype_negatives",
    "sample_candidates",
    "sampled_softmax_ce",
    "self_distillation_kl",
    "sinkhorn_knopp",
    "soft_assignment",
    "swapped_prediction",
]
