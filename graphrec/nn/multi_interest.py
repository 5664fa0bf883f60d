"""Multi-interest extractors and the argmax-interest objective, shared by MIND, ComiRec and HPCL4SR.

* :class:`SelfAttentiveExtractor` — ComiRec-SA's multi-head self-attentive pooling
  (Cen et al., KDD 2020, §3.2.2);
* :class:`ContextSelfAttention` — HPCL4SR's parameter-free item-to-item attention with a
  linear output (Zhu et al., World Wide Web 2024, Eq. 8–9);
* :class:`PositionPooling` — a learned ``K x L`` mixing of the positions of a sequence
  (HPCL4SR Eq. 6, :math:`Q_u = W H_g`);
* :class:`InterestSampledSoftmax` — the training objective of ComiRec / MIND / HPCL4SR
  (Eq. 18–19): the interest closest to the target scores it against shared sampled
  negatives with log-Q correction (:func:`graphrec.losses.interest_sampled_softmax`).

Dynamic routing (MIND, ComiRec-DR, HPCL4SR's capsules) is :mod:`graphrec.nn.capsule`.
Every layer takes left-padded ``(B, W, D)`` sequences with a ``(B, W)`` validity mask;
position-dependent weights are aligned to the newest item (column ``c`` of a window of
width ``W`` uses row ``max_len - W + c``, :func:`graphrec.nn.embedding.right_aligned`), as
:class:`graphrec.nn.embedding.SequenceEmbedding`.
"""

from __future__ import annotations

import math

import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.losses import (
    CANDIDATE_SAMPLERS,
    candidate_log_probs,
    interest_sampled_softmax,
    sample_candidates,
)
from graphrec.nn.embedding import right_aligned

#: the fill of masked attention scores (the ComiRec code's ``-2 ** 32 + 1``): finite, so an
#: all-padding row gets uniform weights over zero vectors instead of NaN
MASKED_SCORE = -(2.0**32) + 1.0


class SelfAttentiveExtractor(nn.Module):
    """ComiRec-SA: ``K`` attention heads pool a sequence into ``K`` interests.

    .. math::
        A = \\mathrm{softmax}\\big(W_2^\\top \\tanh(W_1^\\top H + b_1) + b_2\\big)^\\top
        \\in \\mathbb{R}^{L \\times K}, \\qquad V_u = A^\\top E \\in \\mathbb{R}^{K \\times D}

    with the softmax over the real positions of the sequence. As in the released code,
    the scores read the item vectors plus position vectors :math:`H = E + P` and the
    interests pool the item vectors :math:`E` alone; :math:`W_1` has ``4 D`` outputs
    and both maps have a bias.

    Args:
        hidden_size: ``D``.
        num_interests: ``K`` (heads; default 4).
        inner_multiplier: width of :math:`W_1` as a multiple of ``D`` (default 4).

    Shapes:
        ``forward(keys, values, valid)``: ``keys`` ``(B, W, D)`` (:math:`H`), ``values``
        ``(B, W, D)`` (:math:`E`), ``valid`` ``(B, W)`` bool -> ``(B, K, D)``;
        :meth:`attention` returns ``A^T`` ``(B, K, W)``.
    """

    def __init__(self, hidden_size: int, num_interests: int = 4, inner_multiplier: int = 4) -> None:
        super().__init__()
        if num_interests < 1:
            raise ValueError(f"num_interests must be >= 1, got {num_interests}")
        self.num_interests = int(num_interests)
        self.inner = nn.Linear(hidden_size, inner_multiplier * hidden_size)  # W_1, b_1
        self.heads = nn.Linear(inner_multiplier * hidden_size, num_interests)  # W_2, b_2
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.inner, self.heads):
            nn.init.xavier_uniform_(layer.weight)  # TF's dense default (Glorot uniform, zero bias)
            nn.init.zeros_(layer.bias)

    def attention(self, keys: Tensor, valid: Tensor) -> Tensor:
        """``(B, K, W)`` attention of each head over the real positions (rows sum to 1)."""
        scores = self.heads(torch.tanh(self.inner(keys)))  # (B, W, K)
        scores = scores.transpose(1, 2).masked_fill(~valid.unsqueeze(1), MASKED_SCORE)  # (B, K, W)
        return torch.softmax(scores, dim=-1)  # (B, K, W)

    def forward(self, keys: Tensor, values: Tensor, valid: Tensor) -> Tensor:
        weights = self.attention(keys, valid)  # (B, K, W)
        return weights @ values  # (B, K, D)

    def prefix_attention(self, keys: Tensor, valid: Tensor) -> Tensor:
        """``(B, K, W, W)``: row ``t`` is each head's attention over the real positions ``s <= t``.

        The scores of a position do not depend on the others, so the attention of the
        prefix ending at ``t`` is the softmax of the same scores under a causal mask:
        row ``t`` equals :meth:`attention` of the prefix alone (when its keys are too).
        """
        width = keys.shape[1]
        scores = self.heads(torch.tanh(self.inner(keys))).transpose(1, 2)  # (B, K, W)
        causal = torch.ones(width, width, dtype=torch.bool, device=keys.device).tril()  # (W_t, W_s)
        allowed = causal.unsqueeze(0) & valid.unsqueeze(1)  # (B, W_t, W_s)
        scores = scores.unsqueeze(2).masked_fill(~allowed.unsqueeze(1), MASKED_SCORE)  # (B, K, W, W)
        return torch.softmax(scores, dim=-1)

    def forward_prefixes(self, keys: Tensor, values: Tensor, valid: Tensor) -> Tensor:
        """``(B, W, K, D)``: the ``K`` interests of every prefix in one pass, :math:`O(B K W^2 D)`.

        Row ``t`` is :meth:`forward` on the prefix ending at ``t`` (padding rows are
        meaningless and never trained).
        """
        weights = self.prefix_attention(keys, valid)  # (B, K, W, W)
        return (weights @ values.unsqueeze(1)).transpose(1, 2)  # (B, W, K, D)

    def extra_repr(self) -> str:
        return f"num_interests={self.num_interests}"


class ContextSelfAttention(nn.Module):
    """HPCL4SR Eq. 8–9: every item attends to every real item of its sequence, then a linear map.

    .. math::
        \\alpha_{ij} = \\frac{\\exp(X_i X_j^\\top)}{\\sum_{n} \\exp(X_i X_n^\\top)}, \\qquad
        X_i' = W\\Big(X_i + \\sum_j \\alpha_{ij} X_j\\Big)

    No query/key projections and no scaling, as printed; the sums run over the real
    positions of the sequence, past and future (Eq. 8 sums ``n = 1..N``). Padding
    positions come out as zero.

    Args:
        hidden_size: ``d``.
        bias: give :math:`W` a bias (default False: Eq. 9 has none).

    Shapes:
        ``forward(x, valid)``: ``(B, W, d)`` and ``(B, W)`` bool -> ``(B, W, d)``.
    """

    def __init__(self, hidden_size: int, bias: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.linear.weight)
        if self.linear.bias is not None:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        scores = x @ x.transpose(1, 2)  # (B, W, W) X_i X_j^T
        scores = scores.masked_fill(~valid.unsqueeze(1), MASKED_SCORE)  # keys: real positions only
        alpha = torch.softmax(scores, dim=-1)  # (B, W, W) Eq. 8
        out = self.linear(x + alpha @ x)  # (B, W, d) Eq. 9
        return out * valid.unsqueeze(-1).to(out.dtype)  # padding -> 0


class PositionPooling(nn.Module):
    """HPCL4SR Eq. 6: :math:`Q_u = W H_g`, a learned mixing of a sequence's positions into ``K`` vectors.

    .. math::
        Q_{u,k} = \\sum_{t} W_{k,t}\\, H_{g,t}, \\qquad W \\in \\mathbb{R}^{K \\times L}

    :math:`H_g \\in \\mathbb{R}^{N \\times d}` is one vector per position (Eq. 5), so the
    :math:`W` that makes :math:`Q_u \\in \\mathbb{R}^{K \\times d}` mixes positions. Positions are
    counted from the newest item; padding positions contribute nothing.

    With ``normalize=True`` each interest's weights are a softmax over the sequence's own
    real positions, so they sum to one per user whatever the history's length:

    .. math::
        Q_{u,k} = \\sum_{t \\in \\mathrm{valid}(u)} \\frac{\\exp W_{k,t}}{\\sum_{t' \\in \\mathrm{valid}(u)}
        \\exp W_{k,t'}}\\, H_{g,t}

    Args:
        num_interests: ``K``.
        max_len: ``L``.
        normalize: softmax-normalise the weights over the valid positions (default False:
            the plain signed mixing).

    Shapes:
        ``forward(h, valid)``: ``(B, W, d)``, ``(B, W)`` bool with ``W <= L`` -> ``(B, K, d)``.
    """

    def __init__(self, num_interests: int, max_len: int, normalize: bool = False) -> None:
        super().__init__()
        self.max_len = int(max_len)
        self.normalize = bool(normalize)
        self.weight = nn.Parameter(torch.empty(num_interests, self.max_len))  # (K, L)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = math.sqrt(6.0 / (self.weight.shape[0] + self.weight.shape[1]))
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, h: Tensor, valid: Tensor) -> Tensor:
        weight = right_aligned(self.weight, h.shape[1], "position pooling", dim=1)  # (K, W), newest -> last
        h = h * valid.unsqueeze(-1).to(h.dtype)  # (B, W, d)
        if not self.normalize:
            return torch.einsum("kw,bwd->bkd", weight, h)  # (B, K, d)
        logits = weight.unsqueeze(0).masked_fill(~valid.unsqueeze(1), float("-inf"))  # (B, K, W)
        shares = torch.nan_to_num(logits.softmax(dim=-1))  # (B, K, W); an empty row gets zeros
        return torch.einsum("bkw,bwd->bkd", shares, h)  # (B, K, d)


class InterestSampledSoftmax(nn.Module):
    """The argmax-interest sampled softmax with log-Q correction (ComiRec; HPCL4SR Eq. 18–19).

    Draws ``num_negatives`` items shared by the batch from the sampler :math:`Q`
    (:func:`graphrec.losses.candidate_log_probs`, kept in the buffer ``log_q``) and
    computes :func:`graphrec.losses.interest_sampled_softmax`. The ComiRec code uses
    TensorFlow's log-uniform sampler with ``10 x batch size`` negatives (1,280 at its
    batch of 128) and the log-Q correction.

    With ``sparse=True`` the loss reads the item table only through a sparse lookup of
    the rows it needs (:func:`candidate_rows`), so that the gradient of a leaf table is a
    sparse tensor over the targets and negatives (for
    :class:`~graphrec.train.lazy_adam.LazyAdam`); the value and the gradient (as a dense
    tensor) are those of ``sparse=False``.

    Args:
        num_items: ``N``.
        num_negatives: shared negatives per batch (default 1280).
        sampler: ``"log_uniform"`` (default) or ``"uniform"``.
        item_counts: optional ``(N + 1,)`` training counts that rank the items for
            ``"log_uniform"`` (without them the ids are the ranks).
        log_q_correction: subtract :math:`\\log Q` from the logits (default True).

    Shapes:
        ``forward(interests (B, K, D), item_emb (N + 1, D), targets (B,), negatives (M,) | None,
        sparse=False)`` -> scalar.
    """

    log_q: Tensor

    def __init__(
        self,
        num_items: int,
        num_negatives: int = 1280,
        sampler: str = "log_uniform",
        item_counts: npt.ArrayLike | None = None,
        log_q_correction: bool = True,
    ) -> None:
        super().__init__()
        if sampler not in CANDIDATE_SAMPLERS:
            raise ValueError(f"unknown negative sampler {sampler!r}; valid: {list(CANDIDATE_SAMPLERS)}")
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        self.num_negatives = int(num_negatives)
        self.sampler = sampler
        self.log_q_correction = bool(log_q_correction)
        counts = None if item_counts is None else torch.as_tensor(item_counts)
        self.register_buffer("log_q", candidate_log_probs(num_items, sampler, counts))

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """``(M,)`` shared negatives drawn from :math:`Q` on the buffer's device."""
        return sample_candidates(self.log_q, self.num_negatives, generator)

    def forward(self, interests: Tensor, item_emb: Tensor, targets: Tensor,
                negatives: Tensor | None = None, sparse: bool = False) -> Tensor:
        if negatives is None:
            negatives = self.sample()
        log_q = self.log_q.to(item_emb.dtype) if self.log_q_correction else None
        if not sparse:
            return interest_sampled_softmax(interests, item_emb, targets, negatives, log_q)
        table, local_targets, local_negatives, local_q = candidate_rows(item_emb, targets, negatives, log_q)
        return interest_sampled_softmax(interests, table, local_targets, local_negatives, local_q)

    def extra_repr(self) -> str:
        return (f"num_negatives={self.num_negatives}, sampler={self.sampler!r}, "
                f"log_q_correction={self.log_q_correction}")


def candidate_rows(item_emb: Tensor, targets: Tensor, negatives: Tensor, log_q: Tensor | None = None
                   ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """The rows of the item table a sampled softmax reads, gathered by one sparse lookup.

    With :math:`U = \\{u_1 < \\dots < u_R\\}` the distinct ids among the targets and the
    negatives, the compact table is

    .. math::
        T = \\begin{bmatrix} 0 \\\\ E_{u_1} \\\\ \\vdots \\\\ E_{u_R} \\end{bmatrix}
        \\in \\mathbb{R}^{(R + 1) \\times D}, \\qquad \\mathrm{local}(u_r) = r,

    its row 0 a zero padding row that is never read, and ``targets`` / ``negatives`` /
    ``log_q`` are re-indexed into it. Equal ids stay equal, so a loss over ``T`` (e.g.
    :func:`graphrec.losses.interest_sampled_softmax`, accidental hits included) has the
    value of the same loss over ``item_emb``, and the rows are read with
    ``F.embedding(..., sparse=True)``: the gradient that reaches a leaf ``item_emb`` is a
    sparse tensor over the ``R`` rows.

    Args:
        item_emb: ``(N + 1, D)`` item table (a leaf parameter for a sparse gradient).
        targets: ``(B,)`` item ids in ``1..N``.
        negatives: ``(M,)`` item ids in ``1..N``.
        log_q: optional ``(N + 1,)`` :math:`\\log Q` of every id.

    Returns:
        ``(table (R + 1, D), targets (B,), negatives (M,), log_q (R + 1,) or None)``, the ids
        local to ``table`` (in ``1..R``).
    """
    num_rows = item_emb.shape[0]
    for name, ids in (("targets", targets), ("negatives", negatives)):
        if ids.numel() and (int(ids.min()) < 1 or int(ids.max()) >= num_rows):
            raise ValueError(f"{name} must be real item ids in 1..{num_rows - 1} (0 is padding), "
                             f"got ids in {int(ids.min())}..{int(ids.max())}")
    ids, inverse = torch.unique(torch.cat([targets, negatives]), return_inverse=True)  # (R,), (B + M,)
    rows = F.embedding(ids, item_emb, sparse=True)  # (R, D), sparse gradient into item_emb
    table = torch.cat([rows.new_zeros(1, rows.shape[1]), rows])  # (R + 1, D), row 0 = padding
    local = inverse + 1  # (B + M,) ids in 1..R
    local_log_q = None if log_q is None else torch.cat([log_q[:1], log_q[ids]])  # (R + 1,)
    return table, local[: targets.numel()], local[targets.numel():], local_log_q


def best_interest(interests: Tensor, item_emb: Tensor, target_ids: Tensor) -> Tensor:
    """Each position's interest that scores its target best (label-aware; no gradient through the choice).

    .. math::
        v_t = V_t[\\arg\\max_k V_{t,k}^\\top e_{y_t}]

    Shapes:
        ``interests`` ``(B, W, K, D)``, ``item_emb`` ``(N + 1, D)``, ``target_ids`` ``(B, W)``
        -> ``(B, W, D)``.
    """
    with torch.no_grad():
        fit = (interests * item_emb[target_ids].unsqueeze(2)).sum(-1)  # (B, W, K)
        best = fit.argmax(dim=-1)  # (B, W)
    index = best[..., None, None].expand(-1, -1, 1, interests.shape[-1])  # (B, W, 1, D)
    return interests.gather(2, index).squeeze(2)  # (B, W, D)


__all__ = [
    "MASKED_SCORE",
    "ContextSelfAttention",
    "InterestSampledSoftmax",
    "PositionPooling",
    "SelfAttentiveExtractor",
    "best_interest",
    "candidate_rows",
]
