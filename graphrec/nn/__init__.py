"""Reusable layers: causal transformer, sequence embedding, attention diffusion, residual GCN,
gated session GNN, CPU-fast dropout."""

from graphrec.nn.diffusion import AttentionDiffusion
from graphrec.nn.embedding import SequenceEmbedding
from graphrec.nn.gated_gnn import GatedSessionGNN
from graphrec.nn.residual_gcn import ResidualGCN
from graphrec.nn.transformer import CausalTransformerEncoder

__all__ = ["AttentionDiffusion", "CausalTransformerEncoder", "GatedSessionGNN", "ResidualGCN",
           "SequenceEmbedding"]
