"""Self-attention encoder for left-padded item sequences (SASRec / BERT4Rec blocks).

Kang & McAuley, "Self-Attentive Sequential Recommendation" (SASRec), ICDM 2018, §III-C/D;
pre-LayerNorm residual blocks (Xiong et al., ICML 2020) with a final LayerNorm:

.. math::
    H' = H + \\mathrm{Dropout}\\big(\\mathrm{MHA}(\\mathrm{LN}(H), M)\\big), \\qquad
    H'' = H' + \\mathrm{Dropout}\\big(W_2\\,\\phi(W_1\\,\\mathrm{LN}(H') + b_1) + b_2\\big)

The attention mask ``M`` lets a real position attend to the real positions up to
and including itself (causal, SASRec), or with ``causal=False`` to every real
position of its own sequence, past and future (bidirectional, BERT4Rec: Sun et al.,
CIKM 2019); a padding position attends only to itself in both modes. Every query
row therefore has at least one key, so softmax never sees an all-masked row: no
NaN on left-padded input (the ``nn.TransformerEncoder`` + ``src_key_padding_mask``
pitfall), and a real position's output never depends on padding (nor, when
causal, on the future).
Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention`
(fused kernels where available); on CPU with attention dropout, where SDPA falls
back to its unfused path with a slow ``bernoulli_`` mask, the same math runs
explicitly with :func:`graphrec.nn.dropout.dropout`.

Padding costs (almost) nothing. Left-padded recommendation batches are mostly
padding (Beauty: mean length 9 in windows of 50), so

* position-wise work (LayerNorm, projections, feed-forward, dropout) runs only on
  the ``P`` real positions, packed as ``(P, D)`` rows;
* attention runs per *length bucket*: rows whose real span fits in 8, 16, 32, ...
  columns are attended in windows of that width (:class:`AttentionLayout`), so
  its ``L^2`` cost follows each row's own length, not the batch's longest.

Both are exact in both modes: a row's window holds all of its real positions, so
every real position sees the same keys as in the plain padded computation (tests
compare with unpadded single sequences).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.nn.dropout import Dropout, dropout

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}

#: bucket widths for attention; rows longer than the last one use the full width L
DEFAULT_BUCKETS: tuple[int, ...] = (8, 16, 32)


def causal_padding_mask(valid: Tensor, segment_ids: Tensor | None = None, causal: bool = True) -> Tensor:
    """Boolean attention mask (True = may attend) for a batch of sequences.

    .. math::
        M_{b,i,j} = (j \\le i \\wedge v_{b,j} \\wedge g_{b,i} = g_{b,j}) \\vee (i = j)
        \\quad \\text{(causal)}, \\qquad
        M_{b,i,j} = (v_{b,i} \\wedge v_{b,j} \\wedge g_{b,i} = g_{b,j}) \\vee (i = j)
        \\quad \\text{(bidirectional)}

    Args:
        valid: ``(B, L)`` bool, True at real positions.
        segment_ids: optional ``(B, L)`` sequence id of each position when several
            sequences are packed into one row (:mod:`graphrec.data.packing`); attention
            then stays inside a segment. ``None``: one sequence per row.
        causal: True (default): a real position sees its own past only; False: every
            real position of its segment (past and future). Padding positions see only
            themselves either way.

    Returns:
        ``(B, 1, L, L)`` bool mask, broadcast over heads.
    """
    if not causal:
        eye = torch.eye(valid.shape[1], dtype=torch.bool, device=valid.device)  # (L, L)
        mask = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L): query i, key j
        if segment_ids is not None:
            mask = mask & (segment_ids.unsqueeze(2) == segment_ids.unsqueeze(1))  # (B, L, L)
        return (mask | eye).unsqueeze(1)  # (B, 1, L, L)
    length = valid.shape[1]
    lower = torch.ones(length, length, dtype=torch.bool, device=valid.device).tril_()  # (L, L)
    eye = torch.eye(length, dtype=torch.bool, device=valid.device)  # (L, L)
    mask = lower.unsqueeze(0) & valid.unsqueeze(1)  # (B, L, L): query i, key j
    if segment_ids is not None:
        mask = mask & (segment_ids.unsqueeze(2) == segment_ids.unsqueeze(1))  # (B, L, L)
    return (mask | eye).unsqueeze(1)  # (B, 1, L, L)


@dataclass
class AttentionBucket:
    """The rows of one attention window width.

    Attributes:
        tokens: ``(P_k,)`` indices of the bucket's real positions in the packed ``(P, D)`` rows.
        slots: ``(P_k,)`` their flat positions in the bucket's ``(rows * width)`` window.
        rows: number of sequences (rows) in the bucket.
        width: window width ``w`` (the last ``w`` columns of each row).
        mask: ``(rows, 1, w, w)`` boolean attention mask (:func:`causal_padding_mask`,
            causal or bidirectional).
    """

    tokens: Tensor
    slots: Tensor
    rows: int
    width: int
    mask: Tensor


@dataclass
class AttentionLayout:
    """Where the packed real positions of a batch sit for bucketed attention.

    Built once per forward pass and shared by all layers.

    Attributes:
        index: ``(P,)`` flat positions (in ``B * L``) of the real positions, row-major.
        buckets: one :class:`AttentionBucket` per non-empty width.
        inverse: ``(P,)`` permutation putting the buckets' concatenated outputs back
            into the order of ``index``.
    """

    index: Tensor
    buckets: list[AttentionBucket]
    inverse: Tensor

    @classmethod
    def build(
        cls,
        valid: Tensor,
        segment_ids: Tensor | None = None,
        widths: tuple[int, ...] = DEFAULT_BUCKETS,
        causal: bool = True,
    ) -> AttentionLayout:
        """Layout for a ``(B, L)`` validity mask (and optional packed-row segments).

        A row's span is ``L`` minus its first real column; it goes to the narrowest
        width that holds its span (``L`` for the longest rows). ``causal`` selects
        the attention mask of every bucket (:func:`causal_padding_mask`).
        """
        b, length = valid.shape
        index = valid.reshape(-1).nonzero().squeeze(1)  # (P,)
        row_of, col_of = index // length, index % length  # (P,), (P,)
        first = torch.where(valid.any(1), valid.int().argmax(1), length)  # (B,) first real column
        span = length - first  # (B,)
        edges = sorted({w for w in widths if w < length} | {length})
        edge_t = torch.tensor(edges, device=valid.device)
        bucket_of_row = torch.searchsorted(edge_t, span)  # (B,) narrowest width >= span
        bucket_of_token = bucket_of_row[row_of]  # (P,)
        buckets, order = [], []
        for k, width in enumerate(edges):
            in_bucket = (bucket_of_row == k) & (span > 0)  # (B,)
            rows = int(in_bucket.sum())
            if rows == 0:
                continue
            rank = torch.cumsum(in_bucket, 0) - 1  # (B,) row's rank inside the bucket
            tokens = (bucket_of_token == k).nonzero().squeeze(1)  # (P_k,)
            slots = rank[row_of[tokens]] * width + col_of[tokens] - (length - width)  # (P_k,)
            seg = None if segment_ids is None else segment_ids[in_bucket, length - width :]
            mask = causal_padding_mask(valid[in_bucket, length - width :], seg, causal)  # (rows, 1, w, w)
            buckets.append(AttentionBucket(tokens, slots, rows, width, mask))
            order.append(tokens)
        inverse = torch.empty_like(index)
        if order:
            perm = torch.cat(order)  # (P,) packed position of each concatenated output
            inverse[perm] = torch.arange(perm.numel(), device=valid.device)
        return cls(index=index, buckets=buckets, inverse=inverse)


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor, dropout_p: float = 0.0) -> Tensor:
    """Masked scaled dot-product attention with dropout on the attention weights.

    .. math::
        \\mathrm{Attn}(Q, K, V) =
        \\mathrm{Dropout}\\big(\\mathrm{softmax}(QK^\\top/\\sqrt{d} + \\log M)\\big)V

    Args:
        q, k, v: ``(B, H, L, d)``.
        mask: ``(B, 1, L, L)`` bool, True = may attend; every row needs one True.
        dropout_p: attention-weight dropout (pass 0 in eval mode).

    Returns:
        ``(B, H, L, d)``.
    """
    if dropout_p == 0.0 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5  # (B, H, L, L)
    weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)  # (B, H, L, L)
    return dropout(weights, dropout_p) @ v  # (B, H, L, d)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection, on packed rows.

    Causal or bidirectional as the layout's masks say (:meth:`AttentionLayout.build`).

    Args:
        hidden_size: model width ``D`` (divisible by ``num_heads``).
        num_heads: attention heads ``H``.
        dropout: dropout on the attention weights.

    Shapes:
        ``x``: ``(P, D)`` real positions, ``layout``: their :class:`AttentionLayout`
        -> ``(P, D)``.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.qkv.reset_parameters()
        self.out.reset_parameters()

    def forward(self, x: Tensor, layout: AttentionLayout) -> Tensor:
        d = x.shape[1]
        p = self.dropout if self.training else 0.0
        qkv = self.qkv(x)  # (P, 3D)
        outputs = []
        for bucket in layout.buckets:
            n, w = bucket.rows, bucket.width
            window = qkv.new_zeros(n * w, 3 * d).index_copy(0, bucket.slots, qkv[bucket.tokens])  # (n*w, 3D)
            window = window.view(n, w, 3, self.num_heads, d // self.num_heads)  # (n, w, 3, H, D/H)
            q, k, v = window.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (n, H, w, D/H)
            y = attention(q, k, v, bucket.mask, p)  # (n, H, w, D/H)
            outputs.append(y.transpose(1, 2).reshape(n * w, d)[bucket.slots])  # (P_k, D)
        if not outputs:
            return self.out(x.new_zeros(0, d))  # (0, D)
        y = torch.cat(outputs)[layout.inverse]  # (P, D) in packed order
        return self.out(y)


class TransformerBlock(nn.Module):
    """One pre-LN block: masked self-attention then a position-wise feed-forward net.

    Args:
        hidden_size: ``D``.
        num_heads: ``H``.
        dropout: residual, feed-forward and attention dropout.
        ffn_multiplier: FFN inner width ``ffn_multiplier * D`` (1 in SASRec).
        activation: ``"relu"`` (SASRec) or ``"gelu"``.

    Shapes:
        as :class:`CausalSelfAttention`: ``(P, D)`` packed rows in and out.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        dropout: float = 0.0,
        ffn_multiplier: int = 1,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(_ACTIVATIONS)}")
        self.activation = activation
        self.norm1 = nn.LayerNorm(hidden_size)
        self.attn = CausalSelfAttention(hidden_size, num_heads, dropout)
        self.norm2 = nn.LayerNorm(hidden_size)
        self.ffn_in = nn.Linear(hidden_size, ffn_multiplier * hidden_size)
        self.ffn_out = nn.Linear(ffn_multiplier * hidden_size, hidden_size)
        self.drop = Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in (self.norm1, self.attn, self.norm2, self.ffn_in, self.ffn_out):
            m.reset_parameters()

    def forward(self, x: Tensor, layout: AttentionLayout) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), layout))  # (P, D)
        hidden = _ACTIVATIONS[self.activation](self.ffn_in(self.norm2(x)))  # (P, m*D)
        return x + self.drop(self.ffn_out(self.drop(hidden)))  # (P, D)


class CausalTransformerEncoder(nn.Module):
    """A stack of SASRec blocks over left-padded sequences, with a final LayerNorm.

    Causal by default (SASRec); ``causal=False`` gives the bidirectional encoder of
    BERT4Rec with the same blocks and parameters.

    Args:
        hidden_size: model width ``D``.
        num_layers: number of blocks (default 2).
        num_heads: attention heads (default 2).
        dropout: residual/attention dropout (default 0.0).
        ffn_multiplier: FFN inner width as a multiple of ``D`` (default 1, as in SASRec).
        activation: ``"relu"`` (default, SASRec) or ``"gelu"``.
        buckets: attention window widths (default ``(8, 16, 32)``; ``()`` attends every
            row over the batch's full width). Exact either way; only speed changes.
        causal: True (default): position ``t`` attends to positions ``<= t``; False:
            to every real position of its sequence (bidirectional).

    Shapes:
        ``x``: ``(B, L, D)`` embedded sequence, or ``(P, D)`` its real positions only
        (row-major, as ``x[valid]``); ``valid``: ``(B, L)`` bool, True at real
        positions; optional ``segment_ids``: ``(B, L)`` for packed rows (see
        :func:`causal_padding_mask`); ``input_ids`` is accepted for the common
        sequence-encoder interface (:mod:`graphrec.nn.encoders`) and unused
        -> ``(B, L, D)``, zero at padding positions.
    """

    #: accepts packed rows (``segment_ids``, :mod:`graphrec.data.packing`)
    supports_packing: bool = True

    def __init__(
        self,
        hidden_size: int,
        num_layers: int = 2,
        num_heads: int = 2,
        dropout: float = 0.0,
        ffn_multiplier: int = 1,
        activation: str = "relu",
        buckets: tuple[int, ...] = DEFAULT_BUCKETS,
        causal: bool = True,
    ) -> None:
        super().__init__()
        self.buckets = tuple(int(w) for w in buckets)
        self.causal = bool(causal)
        self.layers = nn.ModuleList(
            TransformerBlock(hidden_size, num_heads, dropout, ffn_multiplier, activation)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()  # type: ignore[operator]  # ModuleList items are typed as Module
        self.norm.reset_parameters()

    def forward(
        self, x: Tensor, valid: Tensor, segment_ids: Tensor | None = None, input_ids: Tensor | None = None
    ) -> Tensor:
        b, length = valid.shape
        d = x.shape[-1]
        if x.dim() == 3 and x.shape[:2] != valid.shape:
            raise ValueError(
                f"valid mask {tuple(valid.shape)} does not match input (B, L) = {tuple(x.shape[:2])}"
            )
        layout = AttentionLayout.build(valid, segment_ids, self.buckets, self.causal)
        if x.dim() == 3:
            h = x.reshape(b * length, d).index_select(0, layout.index)  # (P, D) real positions only
        elif x.shape[0] == layout.index.numel():
            h = x  # already packed: (P, D)
        else:
            raise ValueError(f"packed input has {x.shape[0]} rows but valid marks {layout.index.numel()}")
        for layer in self.layers:
            h = layer(h, layout)  # (P, D)
        h = self.norm(h)  # (P, D)
        return h.new_zeros(b * length, d).index_copy(0, layout.index, h).view(b, length, d)  # (B, L, D)

    def extra_repr(self) -> str:
        return f"causal={self.causal}, buckets={self.buckets}"
