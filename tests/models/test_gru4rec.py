"""GRU4Rec: padding never influences outputs, shapes, losses, learning."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.models import resolve
from graphrec.models.gru4rec import GRU4Rec
from graphrec.nn.encoders import GRUSequenceEncoder, padding_rotation


def _model(**kw: object) -> GRU4Rec:
    torch.manual_seed(0)
    options: dict = {"num_items": 20, "hidden_size": 8, "dropout": 0.0}
    options.update(kw)
    return GRU4Rec(**options)


def test_rotation_hand_worked() -> None:
    left = torch.tensor([[0, 0, 7, 8], [1, 2, 3, 4]])
    lengths = (left > 0).sum(1)
    right = left.gather(1, padding_rotation(4 - lengths, 4))
    assert torch.equal(right, torch.tensor([[7, 8, 0, 0], [1, 2, 3, 4]]))
    assert torch.equal(right.gather(1, padding_rotation(lengths - 4, 4)), left)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_left_padding_does_not_change_outputs(num_layers: int) -> None:
    model = _model(num_layers=num_layers).eval()
    a = SeqBatch(input_ids=torch.tensor([[3, 5, 9]]), user_ids=torch.arange(1))
    b_ids = torch.tensor([[0, 0, 0, 0, 3, 5, 9], [0, 0, 0, 0, 0, 0, 1]])
    b = SeqBatch(input_ids=b_ids, user_ids=torch.arange(2))
    torch.testing.assert_close(model.interests(a)[0], model.interests(b)[0])
    # per-position states as well (what training scores)
    torch.testing.assert_close(model.encode(a.input_ids)[0], model.encode(b.input_ids)[0, 4:])
    # and the interest is the state at the newest position
    torch.testing.assert_close(model.interests(b)[:, 0], model.encode(b.input_ids)[:, -1])


def test_shapes_scores_and_registry() -> None:
    assert resolve("gru4rec") is GRU4Rec
    model = _model().eval()
    batch = SeqBatch(input_ids=torch.tensor([[0, 2, 3], [0, 0, 0]]), user_ids=torch.arange(2))
    assert model.interests(batch).shape == (2, 1, 8)
    assert model.item_embeddings() is model.item.weight
    scores = model.score_all(batch)
    assert scores.shape == (2, 21) and torch.isfinite(scores[:, 1:]).all()
    with pytest.raises(ValueError, match="unknown loss"):
        GRU4Rec(5, loss="hinge")


def test_losses_and_gradients() -> None:
    batch = SeqBatch(
        input_ids=torch.tensor([[0, 0, 3, 5], [1, 2, 3, 4]]),
        target_ids=torch.tensor([[0, 0, 5, 6], [2, 3, 4, 5]]),
        user_ids=torch.arange(2),
    )
    for kind, negs in (("ce", 256), ("sampled", 5), ("bce", 1)):
        model = _model(loss=kind, num_negatives=negs, dropout=0.25, num_layers=2).train()
        loss = model.loss_terms(batch)["rec"]
        assert loss.dim() == 0 and math.isfinite(loss.item())
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="target_ids"):
        model.loss_terms(SeqBatch(input_ids=batch.input_ids, user_ids=batch.user_ids))


def test_learns_a_deterministic_successor() -> None:
    num_items, length = 12, 6
    starts = torch.arange(1, num_items - length + 1)
    seq = starts[:, None] + torch.arange(length + 1)[None, :]  # (7, 7)
    inputs, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    inputs[:3, :2] = 0  # some left padding
    targets[:3, :2] = 0
    batch = SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(len(seq)))
    model = _model(num_items=num_items, hidden_size=16)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    first = model.loss_terms(batch)["rec"].item()
    for _ in range(80):
        opt.zero_grad()
        loss = model.loss_terms(batch)["rec"]
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    model.eval()
    test = SeqBatch(input_ids=torch.tensor([[0, 0, 6, 7, 8]]), user_ids=torch.arange(1))
    assert int(model.score_all(test).argmax()) == 9


def test_built_on_the_gru_encoder_and_loads_checkpoints_with_the_earlier_keys() -> None:
    model = _model(num_layers=2)
    assert isinstance(model.encoder, GRUSequenceEncoder)
    state = model.state_dict()
    assert [k for k in state if not k.startswith("encoder.")] == ["item.weight"]
    old = {k.replace("encoder.", "", 1): v.clone() for k, v in state.items()}  # gru.*, proj.*
    assert "gru.weight_ih_l0" in old and "proj.weight" in old
    other = GRU4Rec(20, hidden_size=8, num_layers=2)
    other.load_state_dict(old)
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in state.items())
