"""SASRec: shapes, tied embeddings, initial loss, padding invariance, packed batches, learning."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.packing import pack_batch
from graphrec.models import resolve
from graphrec.models.sasrec import SASRec

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _model(**kw: object) -> SASRec:
    torch.manual_seed(0)
    options: dict = {"num_items": 20, "hidden_size": 16, "max_len": 6, "dropout": 0.0}
    options.update(kw)
    return SASRec(**options)


def _train_batch() -> SeqBatch:
    inputs = torch.tensor([[0, 0, 0, 3, 5, 7], [0, 0, 0, 0, 2, 4], [1, 2, 3, 4, 5, 6]])
    targets = torch.tensor([[0, 0, 0, 5, 7, 9], [0, 0, 0, 0, 4, 8], [2, 3, 4, 5, 6, 7]])
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(3))


def test_registry_shapes_and_tied_embeddings() -> None:
    assert resolve("sasrec") is SASRec
    model = _model().eval()
    batch = _train_batch()
    assert model.interests(batch).shape == (3, 1, 16)
    assert model.item_embeddings().shape == (21, 16)
    assert model.item_embeddings() is model.embedding.item.weight  # input table = output table
    scores = model.score_all(batch)
    assert scores.shape == (3, 21)
    assert torch.isinf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()
    assert SASRec.from_config(20, hidden_size=8, num_heads=2).item_embeddings().shape == (21, 8)
    with pytest.raises(ValueError, match="valid keys"):
        SASRec.from_config(20, hidden=8)
    with pytest.raises(ValueError, match="unknown loss"):
        SASRec(20, loss="softmax")


def test_eval_scores_finite_on_left_padding_with_dropout_model() -> None:
    model = _model(dropout=0.5).eval()
    ids = torch.tensor([[0, 0, 0, 0, 0, 3], [0, 0, 0, 0, 0, 0]])
    batch = SeqBatch(input_ids=ids, user_ids=torch.arange(2))
    assert torch.isfinite(model.score_all(batch)[:, 1:]).all()


def test_initial_full_ce_is_near_log_num_items() -> None:
    # DESIGN pitfall: a small init keeps the first loss near ln(N), not ~40
    torch.manual_seed(0)
    model = SASRec(500, hidden_size=32, max_len=6, dropout=0.0)
    loss = model.loss_terms(_train_batch())["rec"].item()
    assert abs(loss - math.log(500)) < 0.2


def test_interest_independent_of_left_padding_amount() -> None:
    model = _model().eval()
    short = SeqBatch(input_ids=torch.tensor([[0, 0, 3, 5]]), user_ids=torch.arange(1))
    long_ids = torch.tensor([[0, 0, 0, 0, 3, 5], [1, 2, 3, 4, 5, 6]])
    long = SeqBatch(input_ids=long_ids, user_ids=torch.arange(2))
    torch.testing.assert_close(model.interests(short)[0], model.interests(long)[0], rtol=1e-5, atol=1e-6)


def test_loss_terms_all_kinds_gradients() -> None:
    for kind, negs in (("ce", 256), ("sampled", 8), ("bce", 1)):
        model = _model(loss=kind, num_negatives=negs, dropout=0.2).train()
        terms = model.loss_terms(_train_batch())
        assert set(terms) == {"rec"} and terms["rec"].dim() == 0
        terms["rec"].backward()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), kind
    with pytest.raises(ValueError, match="target_ids"):
        model.loss_terms(SeqBatch(input_ids=torch.ones(1, 3, dtype=torch.long), user_ids=torch.arange(1)))


def test_packed_batch_gives_the_same_loss() -> None:
    model = _model().eval()
    batch = _train_batch()
    packed = pack_batch(batch)
    assert packed.input_ids.shape[0] < batch.input_ids.shape[0]
    torch.testing.assert_close(
        model.loss_terms(packed)["rec"], model.loss_terms(batch)["rec"], rtol=1e-5, atol=1e-6
    )


def test_learns_a_deterministic_successor() -> None:
    # item i is always followed by i + 1: a few Adam steps must learn it
    num_items, length = 12, 6
    starts = torch.arange(1, num_items - length + 1)  # (7,)
    seq = starts[:, None] + torch.arange(length + 1)[None, :]  # (7, 7)
    batch = SeqBatch(input_ids=seq[:, :-1], target_ids=seq[:, 1:], user_ids=torch.arange(len(seq)))
    torch.manual_seed(0)
    model = SASRec(num_items, hidden_size=16, num_layers=1, max_len=length, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    first = model.loss_terms(batch)["rec"].item()
    for _ in range(80):
        opt.zero_grad()
        loss = model.loss_terms(batch)["rec"]
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    model.eval()
    test = SeqBatch(input_ids=torch.tensor([[0, 0, 0, 2, 3, 4]]), user_ids=torch.arange(1))
    assert int(model.score_all(test).argmax()) == 5


def test_on_beauty_batch() -> None:
    if not (DATA / "amazon-beauty" / "Beauty.txt").exists():
        pytest.skip(f"real data not found at {DATA.resolve()}")
    from graphrec.data.readers.s3rec import read_s3rec

    dataset = read_s3rec(DATA / "amazon-beauty" / "Beauty.txt")
    split = LeaveOneOutSplit.build(dataset, max_len=50)
    torch.manual_seed(0)
    model = SASRec(split.num_items)
    loss = model.loss_terms(split.train_batch(np.arange(64)))["rec"].item()
    assert abs(loss - math.log(split.num_items)) < 0.3
    model.eval()
    with torch.no_grad():
        scores = model.score_all(split.eval_batch("test", np.arange(64)))
    assert scores.shape == (64, split.num_items + 1) and torch.isfinite(scores[:, 1:]).all()


def test_tiny_synthetic_dataset_through_loo() -> None:
    items = np.array([1, 2, 3, 4, 5, 2, 3, 4, 1])
    dataset = SequenceDataset(indptr=np.array([0, 5, 9]), items=items, num_items=5)
    split = LeaveOneOutSplit.build(dataset, max_len=4)
    model = SASRec(split.num_items, hidden_size=8, max_len=4)
    loss = model.loss_terms(split.train_batch(np.arange(split.num_train_rows)))["rec"]
    assert math.isfinite(loss.item())
    model.eval()
    assert model.interests(split.eval_batch("valid", np.arange(split.num_eval_rows))).shape == (2, 1, 8)


def test_loss_independent_of_left_padding_amount() -> None:
    model = _model().eval()
    narrow = SeqBatch(
        input_ids=torch.tensor([[0, 3, 5, 7]]),
        target_ids=torch.tensor([[0, 5, 7, 9]]),
        user_ids=torch.arange(1),
    )
    wide = SeqBatch(
        input_ids=torch.tensor([[0, 0, 0, 3, 5, 7]]),
        target_ids=torch.tensor([[0, 0, 0, 5, 7, 9]]),
        user_ids=torch.arange(1),
    )
    torch.testing.assert_close(model.loss_terms(narrow)["rec"], model.loss_terms(wide)["rec"])


@pytest.mark.parametrize("encoder", ["gru", "session_gnn"])
def test_other_encoders_learn_a_deterministic_successor(encoder: str) -> None:
    num_items, length = 12, 6
    starts = torch.arange(1, num_items - length + 1)  # (7,)
    seq = starts[:, None] + torch.arange(length + 1)[None, :]  # (7, 7)
    batch = SeqBatch(input_ids=seq[:, :-1], target_ids=seq[:, 1:], user_ids=torch.arange(len(seq)))
    torch.manual_seed(0)
    model = SASRec(num_items, hidden_size=16, num_layers=1, max_len=length, dropout=0.0, encoder=encoder)
    assert not model.supports_packing  # the trainer packs only transformer batches
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    first = model.loss_terms(batch)["rec"].item()
    for _ in range(80):
        opt.zero_grad()
        loss = model.loss_terms(batch)["rec"]
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    model.eval()
    test = SeqBatch(input_ids=torch.tensor([[0, 0, 0, 2, 3, 4]]), user_ids=torch.arange(1))
    assert int(model.score_all(test).argmax()) == 5
