"""Reusable layers: causal/bidirectional transformer, swappable sequence encoders (transformer,
GRU, causal session GNN), sequence embedding, attention diffusion, residual GCN, gated session
GNN, CPU-fast dropout."""

from graphrec.nn.diffusion import AttentionDiffusion
from graphrec.nn.embedding import SequenceEmbedding
from graphrec.nn.encoders import (
    SEQUENCE_ENCODERS,
    CausalSessionGNNEncoder,
    GRUSequenceEncoder,
    build_sequence_encoder,
    resolve_encoder,
)
from graphrec.nn.gated_gnn import GatedSessionGNN
from graphrec.nn.residual_gcn import ResidualGCN
from graphrec.nn.transformer import CausalTransformerEncoder

__all__ = [
    "SEQUENCE_ENCODERS",
    "AttentionDiffusion",
    "CausalSessionGNNEncoder",
    "CausalTransformerEncoder",
    "GRUSequenceEncoder",
    "GatedSessionGNN",
    "ResidualGCN",
    "SequenceEmbedding",
    "build_sequence_encoder",
    "resolve_encoder",
]
