"""DSSRec's seq2item and latent seq2seq losses (Ma et al., KDD 2020), with the confidence mask."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


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


def disentangled_seq2item_catalogue(intents: Tensor, item_table: Tensor, targets: Tensor,
                                    scale: float | None = None) -> Tensor:
    """Eq. 6 with the whole catalogue in the denominator: the max over intentions only on top.

    .. math::
        \\mathcal{L}(u, t) = -\\log \\frac{\\max_k \\exp(s\\, h_{t+1} \\cdot \\phi^{(k)}_u)}
        {\\sum_{i=1}^{N} \\sum_{k'} \\exp(s\\, h_i \\cdot \\phi^{(k')}_u)}, \\qquad s = 1/\\sqrt{D}

    Every (item, intention) pair competes in the denominator, so the intentions are pushed
    apart as Eq. 6 intends (a max inside the denominator as well would remove that competition).

    Args:
        intents: ``(B, K, D)`` :math:`\\phi^{(k)}_u`.
        item_table: ``(N + 1, D)`` item vectors, row 0 = padding (never in the denominator).
        targets: ``(B,)`` next items in ``1..N``.
        scale: :math:`s` (default :math:`1/\\sqrt D`).

    Returns:
        Scalar mean over rows.
    """
    if intents.dim() != 3 or item_table.dim() != 2 or intents.shape[-1] != item_table.shape[-1]:
        raise ValueError(f"intents must be (B, K, D) and item_table (N + 1, D), got {tuple(intents.shape)} "
                         f"and {tuple(item_table.shape)}")
    if targets.shape != (intents.shape[0],):
        raise ValueError(f"targets must be ({intents.shape[0]},), got {tuple(targets.shape)}")
    s = 1.0 / math.sqrt(intents.shape[-1]) if scale is None else float(scale)
    logits = torch.einsum("bkd,nd->bkn", intents, item_table[1:]) * s  # (B, K, N): item i in column i - 1
    rows = torch.arange(intents.shape[0], device=intents.device)
    positive = logits[rows, :, targets - 1].amax(dim=1)  # (B,) max_k of the next item
    return (logits.flatten(1).logsumexp(dim=1) - positive).mean()


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
