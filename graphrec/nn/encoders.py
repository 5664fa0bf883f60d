"""Swappable sequence encoders: one interface, chosen by name (``model.encoder=session_gnn``).

A sequence encoder turns the embedded positions of a left-padded batch into one
state per position, each built from its own prefix only, so that position ``t``
can predict item ``t + 1``:

.. math::
    F_t = \\mathrm{Enc}(E_{s_1}, \\dots, E_{s_t}), \\qquad t = 1..L

Registered encoders (:data:`SEQUENCE_ENCODERS`, :func:`build_sequence_encoder`):

* ``transformer`` — the SASRec blocks of :class:`~graphrec.nn.transformer.CausalTransformerEncoder`
  (the only one that accepts packed rows, and bidirectional with ``causal=False``);
* ``gru`` — :class:`GRUSequenceEncoder`, GRU4Rec's recurrence (Hidasi et al., ICLR 2016)
  over the real items of each row;
* ``session_gnn`` — :class:`CausalSessionGNNEncoder`, SR-GNN's gated GNN and attention
  readout (Wu et al., AAAI 2019) on causal position graphs.

Common interface (the transformer's ``forward``)::

    encoder(x, valid, segment_ids=None, input_ids=None) -> (B, L, D)

with ``x`` ``(B, L, D)`` embedded inputs or ``(P, D)`` their real positions only
(row-major, as ``x[valid]``), ``valid`` ``(B, L)`` bool, ``segment_ids`` ``(B, L)``
for packed rows (only where ``encoder.supports_packing``), ``input_ids`` ``(B, L)``
item ids (needed by ``session_gnn``). The output is zero at padding positions and,
at real positions, independent of the amount of left padding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from graphrec.graph.session import causal_session_graphs
from graphrec.nn.dropout import Dropout
from graphrec.nn.gated_gnn import GatedSessionGNN
from graphrec.nn.transformer import CausalTransformerEncoder, attention, causal_padding_mask


def dense_positions(x: Tensor, valid: Tensor) -> Tensor:
    """``(B, L, D)`` inputs with zeros at padding, from ``(B, L, D)`` or packed ``(P, D)`` ``x``."""
    if x.dim() == 3:
        if x.shape[:2] != valid.shape:
            raise ValueError(
                f"valid mask {tuple(valid.shape)} does not match input (B, L) = {tuple(x.shape[:2])}"
            )
        return x * valid.unsqueeze(-1).to(x.dtype)  # (B, L, D)
    num_real = int(valid.sum())
    if x.shape[0] != num_real:
        raise ValueError(f"packed input has {x.shape[0]} rows but valid marks {num_real}")
    dense = x.new_zeros(*valid.shape, x.shape[-1])  # (B, L, D)
    dense[valid] = x
    return dense


def padding_rotation(shift: Tensor, length: int) -> Tensor:
    """``(B, L)`` gather index rotating each row left by ``shift[b]``: ``(t + shift_b) mod L``.

    With ``shift = L - n`` (``n`` real items per row) it turns left padding into
    right padding; ``shift = n - L`` turns it back.
    """
    cols = torch.arange(length, device=shift.device)  # (L,)
    return (cols[None, :] + shift[:, None]) % length  # (B, L)


class SequenceEncoder(nn.Module):
    """Base of the non-transformer encoders: dense ``(B, L)`` kernels, no packed rows."""

    #: packed rows (``segment_ids``) are not accepted
    supports_packing: bool = False

    def _check_segments(self, segment_ids: Tensor | None) -> None:
        if segment_ids is not None:
            raise ValueError(f"{type(self).__name__} does not accept packed rows (segment_ids)")


class GRUSequenceEncoder(SequenceEncoder):
    """GRU over the real items of each left-padded row, then a linear map (GRU4Rec).

    .. math::
        h_t = \\mathrm{GRU}(\\mathrm{Dropout}(x_t), h_{t-1}), \\qquad F_t = W h_t + b

    Padding never enters the recurrence: rows are rotated to right padding and
    packed (:func:`torch.nn.utils.rnn.pack_padded_sequence`), so states do not
    depend on the amount of left padding. Causal by construction.
    :class:`graphrec.models.gru4rec.GRU4Rec` is this encoder over a tied item table.

    Args:
        hidden_size: input and state width ``D``.
        num_layers: stacked GRU layers (default 1).
        dropout: dropout between GRU layers (default 0.0; only with ``num_layers > 1``).
        input_dropout: dropout on the inputs ``x_t`` (default 0.0), drawn on the rows
            rotated to right padding.
        reset: redraw the initialisation once built (default True); False keeps the draws
            of the GRU's and the linear map's constructors, for an owner whose
            ``reset_parameters`` initialises everything once (GRU4Rec).

    Shapes:
        see the module docstring: ``x`` ``(B, L, D)`` or ``(P, D)``, ``valid`` ``(B, L)``
        -> ``(B, L, D)``, zero at padding; :meth:`last_state` -> ``(B, D)``.
    """

    def __init__(self, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 input_dropout: float = 0.0, reset: bool = True) -> None:
        super().__init__()
        self.input_dropout = Dropout(input_dropout)
        self.gru = nn.GRU(
            hidden_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.proj = nn.Linear(hidden_size, hidden_size)  # W, b
        if reset:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gru.reset_parameters()
        self.proj.reset_parameters()

    def recur(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """The recurrence alone: states ``h`` ``(B, L, D)`` aligned with the input and ``(B, D)``
        the last layer's state after each row's newest item (before ``W``, ``b``).

        States at padding positions are zero; an all-padding row runs one step on zeros
        (finite, never a real position).
        """
        x = dense_positions(x, valid)  # (B, L, D)
        length = valid.shape[1]
        lengths = valid.sum(dim=1)  # (B,)
        to_right = padding_rotation(length - lengths, length)  # (B, L)
        right = self.input_dropout(x.gather(1, to_right.unsqueeze(-1).expand_as(x)))  # (B, L, D) real first
        packed = pack_padded_sequence(
            right, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
        )  # an all-padding row runs one step on zeros
        out, h_n = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=length)  # (B, L, D), 0 past n_b
        back = padding_rotation(lengths - length, length)  # (B, L)
        left = out.gather(1, back.unsqueeze(-1).expand_as(out))  # (B, L, D) aligned with the input
        return left, h_n[-1]  # (B, L, D), (B, D)

    def forward(
        self, x: Tensor, valid: Tensor, segment_ids: Tensor | None = None, input_ids: Tensor | None = None
    ) -> Tensor:
        self._check_segments(segment_ids)
        left, _ = self.recur(x, valid)  # (B, L, D)
        return self.proj(left) * valid.unsqueeze(-1).to(left.dtype)  # (B, L, D)

    def last_state(self, x: Tensor, valid: Tensor) -> Tensor:
        """``(B, D)`` :math:`F` after each row's newest item, ``W h_n + b``."""
        _, last = self.recur(x, valid)  # (B, D)
        return self.proj(last)  # type: ignore[no-any-return]


class CausalSessionGNNEncoder(SequenceEncoder):
    """SR-GNN made causal: gated GNN on causal position graphs, attention readout per position.

    SR-GNN's session graph of a whole row links items through transitions that
    happen *after* position ``t``; when every position predicts its next item that
    leaks the future. Here the graph (:func:`graphrec.graph.session.causal_session_graphs`)
    has one node per position and only edges from earlier to later positions, the
    two SR-GNN relations restricted to the prefix ``s[:t+1]``:

    * channel 1 (``W_in``): ``u - 1 -> t`` for every ``u <= t`` with ``s_u = s_t``
      (the predecessors of every occurrence of ``s_t`` so far, including the
      transition ``s_{t-1} -> s_t``);
    * channel 2 (``W_out``): ``u + 1 -> t`` for every ``u < t`` with ``s_u = s_t``
      (what followed earlier occurrences of ``s_t``).

    Node states start from the embedded inputs and take ``num_steps`` gated steps
    (:meth:`graphrec.nn.gated_gnn.GatedSessionGNN.forward_relations`, each channel
    a mean over its in-neighbours), so every message comes from a column ``<= t``.
    The readout is SR-GNN's ``s_h = W_3 [v_n; s_g]`` taken at every position, with
    the global preference :math:`s_g` a causal (multi-head, dot-product) attention
    of position ``t`` over its prefix instead of the last-item additive attention
    (same role, ``O(L^2)`` memory instead of ``O(L^2 D)``):

    .. math::
        v = \\mathrm{GGNN}^{K}(x), \\qquad
        s_{g,t} = \\sum_{u \\le t}
            \\mathrm{softmax}_u\\Big(\\frac{(W_q v_t)^\\top W_k v_u}{\\sqrt{d}}\\Big) v_u, \\qquad
        F_t = W_3 [v_t; s_{g,t}]

    Item-transition-graph neighbours (items seen after ``s_t`` in other users'
    sequences) are not used.

    Args:
        hidden_size: ``D`` (divisible by ``num_heads``).
        num_steps: gated GNN steps ``K`` with shared weights (default 1, as SR-GNN).
        num_heads: readout attention heads (default 1).
        dropout: dropout on the readout attention weights (default 0.0).

    Shapes:
        ``x`` ``(B, L, D)`` or ``(P, D)``, ``valid`` ``(B, L)``, ``input_ids`` ``(B, L)``
        (required) -> ``(B, L, D)``, zero at padding.
    """

    def __init__(
        self, hidden_size: int, num_steps: int = 1, num_heads: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.gnn = GatedSessionGNN(hidden_size, num_steps)
        self.qk = nn.Linear(hidden_size, 2 * hidden_size)  # W_q, W_k
        self.lin_out = nn.Linear(2 * hidden_size, hidden_size, bias=False)  # W_3
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gnn.reset_parameters()
        self.qk.reset_parameters()
        self.lin_out.reset_parameters()

    def forward(
        self, x: Tensor, valid: Tensor, segment_ids: Tensor | None = None, input_ids: Tensor | None = None
    ) -> Tensor:
        self._check_segments(segment_ids)
        if input_ids is None:
            raise ValueError("the session_gnn encoder needs input_ids (item identity links repeated items)")
        if input_ids.shape != valid.shape:
            raise ValueError(f"input_ids {tuple(input_ids.shape)} does not match valid {tuple(valid.shape)}")
        ids = input_ids * valid  # (B, L) 0 wherever valid is False
        x = dense_positions(x, valid)  # (B, L, D)
        b, length, d = x.shape
        graph = causal_session_graphs(ids)
        h = self.gnn.forward_relations(x[valid], graph.edge_index, graph.out_edge_index)  # (P, D) v_t
        v = x.new_zeros(b, length, d)  # (B, L, D)
        v[valid] = h
        heads = self.num_heads
        q, k = self.qk(v).chunk(2, dim=-1)  # 2 x (B, L, D)
        q = q.view(b, length, heads, d // heads).transpose(1, 2)  # (B, H, L, D/H)
        k = k.view(b, length, heads, d // heads).transpose(1, 2)  # (B, H, L, D/H)
        values = v.view(b, length, heads, d // heads).transpose(1, 2)  # (B, H, L, D/H)
        mask = causal_padding_mask(valid)  # (B, 1, L, L)
        p = self.dropout if self.training else 0.0
        s_g = attention(q, k, values, mask, p).transpose(1, 2).reshape(b, length, d)  # (B, L, D)
        out = self.lin_out(torch.cat([v, s_g], dim=-1))  # (B, L, D) s_h per position
        return out * valid.unsqueeze(-1).to(out.dtype)  # (B, L, D)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, dropout={self.dropout}"


def _transformer(
    hidden_size: int, num_layers: int, num_heads: int, dropout: float, ffn_multiplier: int, activation: str,
    causal: bool,
) -> nn.Module:
    return CausalTransformerEncoder(
        hidden_size, num_layers, num_heads, dropout, ffn_multiplier, activation, causal=causal
    )


def _gru(
    hidden_size: int, num_layers: int, num_heads: int, dropout: float, ffn_multiplier: int, activation: str,
    causal: bool,
) -> nn.Module:
    return GRUSequenceEncoder(hidden_size, num_layers, dropout)


def _session_gnn(
    hidden_size: int, num_layers: int, num_heads: int, dropout: float, ffn_multiplier: int, activation: str,
    causal: bool,
) -> nn.Module:
    return CausalSessionGNNEncoder(hidden_size, num_layers, num_heads, dropout)


#: name -> builder ``(hidden_size, num_layers, num_heads, dropout, ffn_multiplier, activation, causal)``
SEQUENCE_ENCODERS: dict[str, Callable[[int, int, int, float, int, str, bool], nn.Module]] = {
    "transformer": _transformer,
    "gru": _gru,
    "session_gnn": _session_gnn,
}

#: options only the transformer reads, with their defaults
_TRANSFORMER_ONLY: dict[str, object] = {"ffn_multiplier": 1, "activation": "relu", "causal": True}


def resolve_encoder(name: str) -> Callable[[int, int, int, float, int, str, bool], nn.Module]:
    """The builder registered under ``name`` (case-insensitive).

    An unknown name raises a ``ValueError`` listing the valid ones.
    """
    key = name.lower()
    if key not in SEQUENCE_ENCODERS:
        raise ValueError(f"unknown sequence encoder {name!r}; valid encoders: {sorted(SEQUENCE_ENCODERS)}")
    return SEQUENCE_ENCODERS[key]


def available_encoders() -> list[str]:
    """Registered sequence-encoder names."""
    return sorted(SEQUENCE_ENCODERS)


def build_sequence_encoder(
    name: str,
    hidden_size: int,
    num_layers: int = 2,
    num_heads: int = 2,
    dropout: float = 0.0,
    ffn_multiplier: int = 1,
    activation: str = "relu",
    causal: bool = True,
) -> nn.Module:
    """Build a registered sequence encoder.

    Args:
        name: ``"transformer"``, ``"gru"`` or ``"session_gnn"``.
        hidden_size: state width ``D``.
        num_layers: transformer blocks / GRU layers / gated GNN steps (default 2).
        num_heads: attention heads of the transformer and of the session-GNN readout
            (default 2; unused by ``gru``).
        dropout: attention/residual dropout (transformer), dropout between GRU layers,
            readout attention dropout (session GNN); default 0.0.
        ffn_multiplier, activation, causal: transformer only (see
            :class:`~graphrec.nn.transformer.CausalTransformerEncoder`); a non-default
            value with another encoder is an error, never silently ignored.

    Returns:
        The encoder module (interface in the module docstring). ``"transformer"``
        returns a plain :class:`~graphrec.nn.transformer.CausalTransformerEncoder`
        built with exactly the same arguments and initialisation as before encoders
        were swappable.
    """
    builder = resolve_encoder(name)
    if builder is not _transformer:
        given = {"ffn_multiplier": ffn_multiplier, "activation": activation, "causal": causal}
        changed = sorted(k for k, v in given.items() if v != _TRANSFORMER_ONLY[k])
        if changed:
            raise ValueError(f"option(s) {changed} apply only to the transformer encoder, not {name!r}")
    return builder(hidden_size, num_layers, num_heads, dropout, ffn_multiplier, activation, causal)
