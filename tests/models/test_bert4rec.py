"""BERT4Rec: Cloze masking, only masked positions scored, inference with an appended mask, training."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphrec.data.batch import SeqBatch
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.models import resolve
from graphrec.models.bert4rec import BERT4Rec, cloze_mask
from graphrec.models.context import ModelContext
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train.ddp_worker import make_dataset


def _batch() -> SeqBatch:
    inputs = torch.tensor([[0, 0, 3, 5, 7, 2, 4, 6], [1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0, 4, 9]])
    targets = torch.tensor([[0, 0, 5, 7, 2, 4, 6, 8], [2, 3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, 0, 9, 1]])
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(3))


def _model(**kw: Any) -> BERT4Rec:
    torch.manual_seed(0)
    options: dict[str, Any] = {"num_items": 10, "hidden_size": 8, "max_len": 8, "dropout": 0.0}
    options.update(kw)
    return BERT4Rec(**options)


def test_cloze_mask_counts_targets_and_last_item_rows() -> None:
    seq = torch.tensor([[0, 0, 3, 5, 7, 2, 4, 6], [1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0, 0, 9],
                        [0] * 8])
    masked, targets = cloze_mask(seq, 0.3, 11, torch.Generator().manual_seed(0))
    chosen = masked == 11
    # max(1, floor(0.3 n + 1/2)) for n = 6, 8, 1, 0 -> 2, 2, 1, 0
    assert chosen.sum(1).tolist() == [2, 2, 1, 0]
    assert torch.equal(targets, seq * chosen) and not (chosen & (seq == 0)).any()
    assert torch.equal(masked[~chosen], seq[~chosen])
    last_masked, last_targets = cloze_mask(seq, 0.3, 11, torch.Generator().manual_seed(0), last_ratio=1.0)
    assert (last_masked == 11).sum(1).tolist() == [1, 1, 1, 0] and (last_masked[:3, -1] == 11).all()
    assert last_targets[:, -1].tolist() == [6, 8, 9, 0]
    again, _ = cloze_mask(seq, 0.3, 11, torch.Generator().manual_seed(0))
    assert torch.equal(again, masked)
    with pytest.raises(ValueError, match="mask_id"):
        cloze_mask(seq, 0.3, 0)


def test_training_batch_masks_the_last_l_training_items() -> None:
    model = _model(mask_ratio=0.5)
    assert resolve("bert4rec") is BERT4Rec and model.mask_id == 11
    batch = model.training_batch(_batch(), torch.Generator().manual_seed(0))
    cloze, targets = batch.extras["cloze_ids"], batch.extras["cloze_targets"]
    sequence = torch.tensor([[0, 3, 5, 7, 2, 4, 6, 8], [2, 3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, 4, 9, 1]])
    chosen = cloze == 11
    assert torch.equal(torch.where(chosen, targets, cloze), sequence)  # unmasked = the training sequence
    assert chosen.sum(1).tolist() == [4, 4, 2]  # floor(0.5 n + 1/2) for n = 7, 8, 3
    assert model.loss_counts(batch)["masked"] == 10.0


def test_only_masked_positions_are_scored() -> None:
    model = _model(mask_ratio=0.4)
    batch = model.training_batch(_batch(), torch.Generator().manual_seed(3))
    captured: dict[str, torch.Tensor] = {}
    encode = model.encode

    def spy(ids: torch.Tensor) -> torch.Tensor:
        states = encode(ids)
        states.retain_grad()
        captured["states"] = states
        return states

    model.encode = spy  # type: ignore[method-assign]
    loss = model.loss_terms(batch)["rec"]
    loss.backward()
    states, grad = captured["states"], captured["states"].grad
    assert grad is not None
    masked = batch.extras["cloze_targets"][:, -states.shape[1]:] > 0  # (B, L')
    assert (grad[~masked] == 0).all() and (grad[masked].abs().sum(-1) > 0).all()
    # the loss is the cross-entropy of Eq. 7 at the masked positions only
    h = model.output(states[masked])
    logits = h @ model.item_embeddings()[1:].T  # (P, N)
    expected = F.cross_entropy(logits, batch.extras["cloze_targets"][:, -states.shape[1]:][masked] - 1)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # changing the next-item targets of the loader's batch leaves the Cloze loss unchanged
    other = SeqBatch(input_ids=batch.input_ids, user_ids=batch.user_ids,
                     target_ids=torch.randint(1, 11, batch.input_ids.shape), extras=dict(batch.extras))
    model.encode = encode  # type: ignore[method-assign]
    assert model.loss_terms(other)["rec"].item() == pytest.approx(loss.item(), rel=1e-6)


def test_the_encoder_is_bidirectional() -> None:
    model = _model().eval()
    a = model.encode(torch.tensor([[0, 3, 5, 7]]))
    b = model.encode(torch.tensor([[0, 3, 5, 8]]))  # only the newest item differs
    assert not torch.allclose(a[0, 1], b[0, 1])  # an earlier position sees the later item


def test_inference_appends_the_mask_token_and_scores_eq7() -> None:
    model = _model().eval()
    with torch.no_grad():
        model.output_bias.copy_(torch.linspace(-1, 1, 11))  # type: ignore[union-attr]
    history = torch.tensor([[0, 0, 0, 0, 0, 4, 2, 7], [1, 2, 3, 4, 5, 6, 7, 8]])
    batch = SeqBatch(input_ids=history, user_ids=torch.arange(2))
    shifted = torch.tensor([[0, 0, 0, 0, 4, 2, 7, 11], [2, 3, 4, 5, 6, 7, 8, 11]])  # oldest item dropped
    h = model.encode(shifted)[:, -1]  # (B, D)
    assert model.interests(batch).shape == (2, 1, 9)
    assert model.item_embeddings().shape == (11, 9)
    expected = F.gelu(model.head(h)) @ model.embedding.item_table.T + model.output_bias  # type: ignore[misc]
    scores = model.score_all(batch)
    assert torch.allclose(scores[:, 1:], expected[:, 1:], atol=1e-5) and torch.isinf(scores[:, 0]).all()
    plain = _model(output_head=False).eval()
    assert plain.item_embeddings().shape == (11, 8) and plain.interests(batch).shape == (2, 1, 8)


def test_trains_two_epochs_with_the_generic_trainer() -> None:
    split = LeaveOneOutSplit.build(make_dataset(num_users=60, num_items=30), max_len=8)
    torch.manual_seed(0)
    model = BERT4Rec.from_context(ModelContext.from_split(split), hidden_size=8, mask_ratio=0.4)
    assert model.embedding.max_len == 8
    result = Trainer(model, split, TrainConfig(epochs=2, batch_size=16, progress=False, seed=0),
                     evaluator=loo_evaluator(split)).fit()
    assert len(result["history"]) == 2 and all(np.isfinite(r["loss/rec"]) for r in result["history"])
    assert model.loss_unit("rec", split.train_batch(np.arange(2))) == "masked"


def test_cloze_mask_caps_the_predictions_per_row() -> None:
    rows = torch.arange(1, 41).unsqueeze(0).repeat(3, 1)  # 40 items per row
    masked, targets = cloze_mask(rows, 0.6, 99, torch.Generator().manual_seed(0), max_predictions=20)
    assert ((targets > 0).sum(dim=1) == 20).all()  # round(.6 * 40) = 24, capped at 20
    _, uncapped = cloze_mask(rows, 0.6, 99, torch.Generator().manual_seed(0))
    assert ((uncapped > 0).sum(dim=1) == 24).all()
