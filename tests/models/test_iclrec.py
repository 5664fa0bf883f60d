"""ICLRec: epoch-start k-means over every training sequence, the intent term, exact resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.losses import nt_xent
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.hooks import TrainState
from graphrec.models.iclrec import ICLRec
from graphrec.nn.kmeans import kmeans
from graphrec.nn.pooling import pool_sequence
from graphrec.train.checkpoint import LAST, load_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train.ddp_worker import make_dataset


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(make_dataset(num_users=60, num_items=30), max_len=8)


def _model(split: LeaveOneOutSplit, seed: int = 0, **kw: Any) -> ICLRec:
    torch.manual_seed(seed)
    options: dict[str, Any] = {"hidden_size": 8, "dropout": 0.1, "num_intents": 4}
    options.update(kw)
    return ICLRec.from_context(ModelContext.from_split(split), **options)  # type: ignore[return-value]


def _state(split: LeaveOneOutSplit, epoch: int = 1) -> TrainState:
    def rows(batch_size: int) -> Any:
        for start in range(0, split.num_train_rows, batch_size):
            yield split.train_batch(np.arange(start, min(start + batch_size, split.num_train_rows)))

    return TrainState(seed=5, epoch=epoch, step=0, epochs=2, steps_per_epoch=1, device=torch.device("cpu"),
                      train_sequences=rows)


def test_epoch_start_kmeans_over_every_training_sequence(split: LeaveOneOutSplit) -> None:
    assert resolve("iclrec") is ICLRec
    model = _model(split).eval()
    state = _state(split)
    with torch.no_grad():
        model.on_epoch_start(state)
        reps = model.intent_space(torch.from_numpy(split.train_inputs))  # (R, D) every training row
    centroids, _ = kmeans(reps, 4, 20, state.generator())
    assert torch.allclose(model.intents.centroids, centroids, atol=1e-5)
    assert "intents.centroids" in model.state_dict()


def test_intent_term_contrasts_each_view_with_its_intent(split: LeaveOneOutSplit) -> None:
    model = _model(split, dropout=0.0, intent_temperature=0.5).eval()
    with torch.no_grad():
        model.on_epoch_start(_state(split))
    batch = model.training_batch(split.train_batch(np.arange(12)), torch.Generator().manual_seed(0))
    terms = model.loss_terms(batch)
    assert set(terms) == {"rec", "cl", "intent"}
    assert model.loss_unit("intent", batch) == model.loss_unit("cl", batch) == "rows"
    z = pool_sequence(model.encode(batch.input_ids), batch.input_ids > 0, "mean")
    c = model.intents.centroids[model.intents.assign(z)]
    views = [batch.extras["view1"], batch.extras["view2"]]
    v = [pool_sequence(model.encode(ids), ids > 0, "mean") for ids in views]
    expected = 0.5 * (nt_xent(v[0], c, 0.5) + nt_xent(v[1], c, 0.5))
    assert terms["intent"].item() == pytest.approx(expected.item(), rel=1e-5)
    # the sequence contrast flattens every position (the released code's "concatenate")
    flat = [pool_sequence(model.encode(ids), ids > 0, "concat") for ids in views]
    assert terms["cl"].item() == pytest.approx(nt_xent(flat[0], flat[1], 1.0).item(), rel=1e-5)
    denoised = _model(split, dropout=0.0, intent_temperature=0.5, false_negative_mitigation=True).eval()
    denoised.load_state_dict(model.state_dict())
    groups = model.intents.assign(z)
    fnm = 0.5 * (nt_xent(v[0], c, 0.5, groups=groups) + nt_xent(v[1], c, 0.5, groups=groups))
    assert denoised.loss_terms(batch)["intent"].item() == pytest.approx(fnm.item(), rel=1e-5)


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(epochs=2, batch_size=16, lr=0.01, seed=3, progress=False, patience=0,
                                loss_weights={"cl": 0.1, "intent": {"weight": 0.1, "start_epoch": 2}},
                                eval_batch_size=32)
    base.update(kw)
    return TrainConfig(**base)


def test_trains_two_epochs_with_an_intent_warm_up(split: LeaveOneOutSplit) -> None:
    result = Trainer(_model(split), split, _config(), evaluator=loo_evaluator(split)).fit()
    history = result["history"]
    assert [r["weight/intent"] for r in history] == [0.0, 0.1]
    for record in history:
        assert all(np.isfinite(record[f"loss/{t}"]) for t in ("rec", "cl", "intent"))


def test_interrupted_and_resumed_run_equals_uninterrupted(split: LeaveOneOutSplit, tmp_path: Path) -> None:
    straight_dir = tmp_path / "straight"
    straight = Trainer(_model(split), split, _config(epochs=3, checkpoint_dir=str(straight_dir)),
                       evaluator=loo_evaluator(split)).fit()

    def crash_after_one(record: dict[str, Any]) -> None:
        if record["epoch"] == 1:
            raise Interrupt

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Interrupt):
        Trainer(_model(split), split, _config(epochs=3, checkpoint_dir=str(ckpt)),
                on_epoch_end=crash_after_one, evaluator=loo_evaluator(split)).fit()
    resumed = Trainer(_model(split, seed=99), split, _config(epochs=3, checkpoint_dir=str(ckpt),
                                                              resume=True),
                                                                  evaluator=loo_evaluator(split)).fit()
    assert resumed["resumed_from"] == 1
    for a, b in zip(straight["history"], resumed["history"], strict=True):
        assert {k: v for k, v in a.items() if k.startswith("loss")} == \
               {k: v for k, v in b.items() if k.startswith("loss")}
        assert a["valid"]["NDCG@10"] == b["valid"]["NDCG@10"]
    final_a = load_checkpoint(straight_dir / LAST)["model"]
    final_b = load_checkpoint(ckpt / LAST)["model"]
    assert final_a.keys() == final_b.keys()
    for name in final_a:
        assert torch.equal(final_a[name], final_b[name]), name
    assert float(final_b["intents.centroids"].abs().sum()) > 0
