"""Swappable sequence encoders: causality, left-padding invariance, finiteness, registry, SASRec."""

from __future__ import annotations

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.graph.session import causal_session_graphs
from graphrec.models.sasrec import SASRec
from graphrec.nn.embedding import SequenceEmbedding
from graphrec.nn.encoders import (
    SEQUENCE_ENCODERS,
    CausalSessionGNNEncoder,
    GRUSequenceEncoder,
    build_sequence_encoder,
    resolve_encoder,
)
from graphrec.nn.transformer import CausalTransformerEncoder

D = 8
NAMES = sorted(SEQUENCE_ENCODERS)
# repeated items, so the session GNN's same-item relations are exercised; row 1 is all padding
IDS = torch.tensor([[0, 0, 3, 5, 3, 7, 5, 3], [0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 1, 2, 1, 2, 1, 2]])


def _encoder(name: str, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_sequence_encoder(name, D, num_layers=2, num_heads=2, dropout=dropout)


def _run(enc: torch.nn.Module, emb: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    valid = ids > 0
    return enc(emb(ids), valid, input_ids=ids)  # (B, L, D)


def test_registry_names_and_errors() -> None:
    assert NAMES == ["gru", "session_gnn", "transformer"]
    assert isinstance(_encoder("transformer"), CausalTransformerEncoder)
    assert isinstance(_encoder("GRU"), GRUSequenceEncoder)  # case-insensitive
    assert isinstance(_encoder("session_gnn"), CausalSessionGNNEncoder)
    with pytest.raises(ValueError, match=r"unknown sequence encoder 'lstm'; valid encoders: \['gru'"):
        resolve_encoder("lstm")
    with pytest.raises(ValueError, match="only to the transformer"):
        build_sequence_encoder("gru", D, activation="gelu")
    with pytest.raises(ValueError, match=r"\['causal'\]"):
        build_sequence_encoder("session_gnn", D, causal=False)
    bidirectional = build_sequence_encoder("transformer", D, causal=False, ffn_multiplier=2)
    assert isinstance(bidirectional, CausalTransformerEncoder) and not bidirectional.causal


@pytest.mark.parametrize("name", NAMES)
def test_causal_later_items_never_change_earlier_states(name: str) -> None:
    enc = _encoder(name).eval()
    emb = torch.nn.Embedding(10, D)
    out = _run(enc, emb, IDS)
    for t in range(2, IDS.shape[1] - 1):
        changed = IDS.clone()
        changed[:, t + 1] = torch.where(changed[:, t + 1] > 0, 9, 0)  # a new item at position t + 1
        out2 = _run(enc, emb, changed)
        torch.testing.assert_close(out2[:, : t + 1], out[:, : t + 1], rtol=0, atol=1e-6)
        assert not torch.allclose(out2[[0, 2], t + 1], out[[0, 2], t + 1])


@pytest.mark.parametrize("name", NAMES)
def test_left_padding_invariance_and_packed_input(name: str) -> None:
    enc = _encoder(name).eval()
    emb = torch.nn.Embedding(10, D)
    out = _run(enc, emb, IDS)
    wide = torch.cat([torch.zeros(3, 5, dtype=torch.long), IDS], dim=1)  # five more columns of padding
    torch.testing.assert_close(_run(enc, emb, wide)[:, 5:], out, rtol=1e-5, atol=1e-6)
    valid = IDS > 0
    torch.testing.assert_close(enc(emb(IDS)[valid], valid, input_ids=IDS), out)  # packed (P, D) input
    # padding input values are never read
    noisy = emb(IDS).detach().clone()
    noisy[~valid] = 1e3
    torch.testing.assert_close(enc(noisy, valid, input_ids=IDS), out)


@pytest.mark.parametrize("name", NAMES)
def test_finite_zero_at_padding_and_gradients(name: str) -> None:
    enc = _encoder(name, dropout=0.3)
    emb = torch.nn.Embedding(10, D)
    valid = IDS > 0
    for mode in (True, False):
        enc.train(mode)
        out = _run(enc, emb, IDS)
        assert out.shape == (3, 8, D) and torch.isfinite(out).all() and torch.all(out[~valid] == 0)
    enc.train()
    _run(enc, emb, IDS)[valid].square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in enc.parameters())
    assert emb.weight.grad is not None and torch.isfinite(emb.weight.grad).all()


@pytest.mark.parametrize("name", ["gru", "session_gnn"])
def test_dense_encoders_refuse_packed_rows(name: str) -> None:
    enc = _encoder(name)
    assert enc.supports_packing is False
    valid = IDS > 0
    with pytest.raises(ValueError, match="packed rows"):
        enc(torch.randn(3, 8, D), valid, valid.long(), input_ids=IDS)
    with pytest.raises(ValueError, match="does not match"):
        enc(torch.randn(3, 7, D), valid, input_ids=IDS)


def test_session_gnn_needs_item_ids() -> None:
    with pytest.raises(ValueError, match="needs input_ids"):
        _encoder("session_gnn")(torch.randn(3, 8, D), IDS > 0)


def test_causal_session_graph_hand_worked() -> None:
    g = causal_session_graphs(torch.tensor([[0, 1, 2, 1, 3], [0, 0, 0, 0, 0], [0, 0, 4, 4, 5]]))
    assert g.x.tolist() == [1, 2, 1, 3, 4, 4, 5]
    assert g.alias.tolist() == [[-1, 0, 1, 2, 3], [-1] * 5, [-1, -1, 4, 5, 6]]
    assert g.batch.tolist() == [0, 0, 0, 0, 2, 2, 2] and g.ptr.tolist() == [0, 4, 4, 7]
    # in edges: the transitions, plus predecessors of earlier occurrences (none here besides them)
    assert g.edge_index.t().tolist() == [[0, 1], [1, 2], [2, 3], [4, 5], [5, 6]]
    # out edges: what followed an earlier occurrence of the same item (1 -> 2 -> 1; 4 -> 4)
    assert g.out_edge_index.t().tolist() == [[1, 2], [5, 5]]
    # every edge goes from an earlier (or the same) position to a later one
    for edges in (g.edge_index, g.out_edge_index):
        assert torch.all(edges[0] <= edges[1])
    repeated = causal_session_graphs(torch.tensor([[5, 6, 5, 6]]))
    # position 3 (item 6) gets the predecessors of both occurrences of 6: positions 0 and 2
    assert sorted(repeated.edge_index.t().tolist()) == [[0, 1], [0, 3], [1, 2], [2, 3]]
    assert sorted(repeated.out_edge_index.t().tolist()) == [[1, 2], [2, 3]]


def _sasrec(**kw: object) -> SASRec:
    torch.manual_seed(0)
    options: dict = {"num_items": 20, "hidden_size": 16, "max_len": 6, "dropout": 0.2}
    options.update(kw)
    return SASRec(**options)


def _batch() -> SeqBatch:
    inputs = torch.tensor([[0, 0, 0, 3, 5, 3], [0, 0, 0, 0, 0, 4], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]])
    targets = torch.tensor([[0, 0, 0, 5, 3, 9], [0, 0, 0, 0, 0, 8], [2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0]])
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(4))


@pytest.mark.parametrize("name", NAMES)
def test_sasrec_runs_with_every_encoder(name: str) -> None:
    model = _sasrec(encoder=name).train()
    assert model.supports_packing is (name == "transformer")
    loss = model.loss_terms(_batch())["rec"]
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    scores = model.score_all(_batch())
    assert scores.shape == (4, 21) and torch.isfinite(scores[:, 1:]).all()
    assert f"encoder={name!r}" in repr(model)
    assert SASRec.from_config(20, encoder=name, hidden_size=8).encoder_name == name


def test_sasrec_default_encoder_state_dict_unchanged() -> None:
    model = _sasrec(num_layers=2)
    layer = [
        "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.out.weight", "attn.out.bias",
        "norm2.weight", "norm2.bias", "ffn_in.weight", "ffn_in.bias", "ffn_out.weight", "ffn_out.bias",
    ]
    expected = [
        "embedding.item.weight", "embedding.position.weight", "embedding.norm.weight", "embedding.norm.bias",
        *[f"encoder.layers.{i}.{k}" for i in range(2) for k in layer],
        "encoder.norm.weight", "encoder.norm.bias",
    ]
    assert list(model.state_dict()) == expected
    assert type(model.encoder) is CausalTransformerEncoder and model.encoder.causal
    # same initialisation draws, in the same order, as the embedding + transformer built directly
    torch.manual_seed(0)
    embedding = SequenceEmbedding(20, 16, 6, 0.2, 0.02)
    encoder = CausalTransformerEncoder(16, 2, 2, 0.2, 1, "relu")
    reference = {**{f"embedding.{k}": v for k, v in embedding.state_dict().items()},
                 **{f"encoder.{k}": v for k, v in encoder.state_dict().items()}}
    assert all(torch.equal(v, reference[k]) for k, v in model.state_dict().items())


def test_sasrec_unknown_encoder_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="valid encoders"):
        SASRec(20, encoder="cnn")
    with pytest.raises(ValueError, match="only to the transformer"):
        SASRec(20, encoder="gru", activation="gelu")
