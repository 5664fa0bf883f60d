"""Training on packed batches follows the same trajectory as on padded batches."""

from __future__ import annotations

import pytest
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.synthetic import generate_synthetic
from graphrec.eval.loo import loo_evaluator
from graphrec.models.gru4rec import GRU4Rec
from graphrec.models.sasrec import SASRec
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    data = generate_synthetic(num_users=120, num_items=80, num_categories=12, num_intents=4, seed=1)
    return LeaveOneOutSplit.build(data, max_len=20)


def _losses(split: LeaveOneOutSplit, pack: bool) -> list[float]:
    torch.manual_seed(0)
    model = SASRec(split.num_items, hidden_size=16, num_layers=1, dropout=0.0, max_len=20)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.01, seed=5, progress=False, max_len=20,
                         pack_sequences=pack)
    return [record["loss"] for record in Trainer(model, split, config,
                                                 evaluator=loo_evaluator(split)).fit()["history"]]


def test_packed_training_matches_padded(split: LeaveOneOutSplit) -> None:
    assert _losses(split, pack=True) == pytest.approx(_losses(split, pack=False), rel=1e-4)


def test_packing_refused_for_models_without_support(split: LeaveOneOutSplit) -> None:
    with pytest.raises(ValueError, match="GRU4Rec does not accept packed batches"):
        Trainer(GRU4Rec(split.num_items, hidden_size=8), split,
                TrainConfig(epochs=1, progress=False, pack_sequences=True), evaluator=loo_evaluator(split))
