"""The generic trainer: weighting, early stopping, best weights, logs, reproducibility, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.models.base import SequentialRecommender
from graphrec.train.checkpoint import BEST, LAST, load_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train import ddp_worker as worker


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(worker.make_dataset(num_users=80, num_items=30), max_len=8)


def _config(**kw: Any) -> TrainConfig:
    base = dict(epochs=3, batch_size=16, lr=0.01, seed=3, progress=False, patience=0,
                loss_weights={"norm": 0.01}, eval_batch_size=32)
    base.update(kw)
    return TrainConfig(**base)


def _fit(split: LeaveOneOutSplit, dropout: float = 0.0, **kw: Any) -> dict[str, Any]:
    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8, dropout=dropout)
    return Trainer(model, split, _config(**kw), evaluator=loo_evaluator(split)).fit()


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    drop = ("seconds", "users_per_s")
    return {f"{w}/{k}": v for w in ("valid", "test") for k, v in result[w].items() if k not in drop}


def test_same_seed_identical_metrics(split: LeaveOneOutSplit) -> None:
    a = _fit(split, dropout=0.3)
    b = _fit(split, dropout=0.3)
    assert _metrics(a) == _metrics(b)
    assert [r["loss"] for r in a["history"]] == [r["loss"] for r in b["history"]]
    c = _fit(split, dropout=0.3, seed=4)
    assert [r["loss"] for r in a["history"]] != [r["loss"] for r in c["history"]]


def test_loss_is_weighted_sum_and_training_helps(split: LeaveOneOutSplit) -> None:
    result = _fit(split, epochs=4)
    for rec in result["history"]:
        assert rec["loss"] == pytest.approx(rec["loss/ce"] + 0.01 * rec["loss/norm"], rel=1e-6)
        assert rec["seq_per_s"] > 0
    losses = [r["loss"] for r in result["history"]]
    assert losses[-1] < losses[0]
    assert result["test"]["num_users"] == split.num_eval_rows


def test_unknown_loss_weight_name_is_an_error(split: LeaveOneOutSplit) -> None:
    with pytest.raises(ValueError, match=r"\['contrast'\].*\['ce', 'norm'\]"):
        _fit(split, loss_weights={"contrast": 0.5})


def test_early_stopping_restores_best_weights(split: LeaveOneOutSplit, tmp_path: Path) -> None:
    calls: list[str] = []
    states: dict[int, dict[str, Tensor]] = {}

    def evaluator(model: SequentialRecommender, which: str) -> dict[str, Any]:
        calls.append(which)
        n_valid = calls.count("valid")
        return {"NDCG@10": 1.0 / n_valid if which == "valid" else 0.5}  # best at epoch 1

    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8)

    def snapshot(record: dict[str, Any]) -> None:
        states[record["epoch"]] = {k: v.clone() for k, v in model.state_dict().items()}

    cfg = _config(epochs=10, patience=2, checkpoint_dir=str(tmp_path), log_file=str(tmp_path / "log.jsonl"))
    result = Trainer(model, split, cfg, evaluator=evaluator, on_epoch_end=snapshot).fit()
    assert result["stopped_early"] and result["epochs_run"] == 3 and result["best_epoch"] == 1
    assert calls == ["valid", "valid", "valid", "test"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, states[1][name])
    assert not torch.equal(states[1]["proj.weight"], states[3]["proj.weight"])
    best = load_checkpoint(tmp_path / BEST)
    assert best["epoch"] == 1 and all(torch.equal(best["model"][k], states[1][k]) for k in states[1])
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [rec["epoch"] for rec in lines] == [1, 2, 3]
    assert {"loss", "loss/ce", "loss/norm", "seconds", "seq_per_s", "valid"} <= set(lines[0])


def test_eval_every_and_metric_check(split: LeaveOneOutSplit) -> None:
    result = _fit(split, epochs=3, eval_every=2)
    assert ["valid" in r for r in result["history"]] == [False, True, True]  # last epoch always
    with pytest.raises(ValueError, match="not produced"):
        torch.manual_seed(0)
        Trainer(worker.TinyMean(split.num_items, dim=8), split, _config(),
                evaluator=lambda m, w: {"Recall@20": 0.1}).fit()


def test_grad_clip_bounds_updates(split: LeaveOneOutSplit) -> None:
    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    Trainer(model, split, _config(epochs=1, grad_clip=1e-12, optimizer="adamw"),
            evaluator=loo_evaluator(split)).fit()
    # Adam's step is g / (|g| + eps): with |g| <= 1e-12 and eps = 1e-8 it is ~ lr * 1e-4
    change = max(float((model.state_dict()[k] - before[k]).abs().max()) for k in before)
    assert 0 < change < 1e-4
    torch.manual_seed(0)
    free = worker.TinyMean(split.num_items, dim=8)
    Trainer(free, split, _config(epochs=1), evaluator=loo_evaluator(split)).fit()
    assert max(float((free.state_dict()[k] - before[k]).abs().max()) for k in before) > 1e-3


class CountPop(SequentialRecommender):
    """Untrainable popularity model: every user gets the training counts as scores."""

    trainable = False

    def __init__(self, num_items: int, counts: np.ndarray) -> None:
        super().__init__(num_items)
        self.register_buffer("counts", torch.as_tensor(counts, dtype=torch.float32))

    def interests(self, batch: SeqBatch) -> Tensor:
        return torch.ones(batch.batch_size, 1, 1)  # (B, 1, 1)

    def item_embeddings(self) -> Tensor:
        return self.counts[:, None]  # (N + 1, 1)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        raise AssertionError("an untrainable model must not be trained")


def test_untrainable_model_skips_training(split: LeaveOneOutSplit) -> None:
    model = CountPop(split.num_items, split.train_item_counts())
    result = Trainer(model, split, _config(), evaluator=loo_evaluator(split)).fit()
    assert result["epochs_run"] == 0 and result["history"] == []
    assert 0.0 <= result["test"]["HR@20"] <= 1.0 and math.isfinite(result["test"]["MRR"])


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("schedule", [{}, {"lr_schedule": "cosine", "warmup_epochs": 0.5},
                                      {"optimizer": "lazy_adam"}])
def test_resume_matches_uninterrupted_run(split: LeaveOneOutSplit, tmp_path: Path,
                                          schedule: dict[str, Any]) -> None:
    straight = _fit(split, dropout=0.3, epochs=4, patience=3, **schedule)

    def crash_after_two(record: dict[str, Any]) -> None:
        if record["epoch"] == 2:
            raise Interrupt

    ckpt, log = str(tmp_path / "ckpt"), str(tmp_path / "log.jsonl")
    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8, dropout=0.3)
    with pytest.raises(Interrupt):
        Trainer(model, split, _config(epochs=4, patience=3, checkpoint_dir=ckpt, log_file=log, **schedule),
                on_epoch_end=crash_after_two, evaluator=loo_evaluator(split)).fit()
    assert load_checkpoint(Path(ckpt) / LAST)["epoch"] == 2
    # a fresh process would build a fresh model with another init: resume must not depend on it
    torch.manual_seed(123)
    fresh = worker.TinyMean(split.num_items, dim=8, dropout=0.3)
    cfg = _config(epochs=4, patience=3, checkpoint_dir=ckpt, log_file=log, resume=True, **schedule)
    resumed = Trainer(fresh, split, cfg, evaluator=loo_evaluator(split)).fit()
    assert resumed["resumed_from"] == 2
    assert _metrics(resumed) == _metrics(straight)
    assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in straight["history"]]
    assert resumed["best_epoch"] == straight["best_epoch"]
    logged = [json.loads(line)["epoch"] for line in Path(log).read_text().splitlines()]
    assert logged == [1, 2, 3, 4]


def test_tensorboard_scalars_per_epoch(split: LeaveOneOutSplit, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    written: list[tuple[str, float, int]] = []

    class FakeWriter:
        def __init__(self, log_dir: str) -> None:
            self.log_dir = log_dir

        def add_scalar(self, name: str, value: float, step: int) -> None:
            written.append((name, value, step))

        def flush(self) -> None:
            pass

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    result = _fit(split, epochs=2, tensorboard_dir=str(tmp_path / "tb"))
    steps = {step for _, _, step in written}
    assert steps == {1, 2}
    names = {name for name, _, _ in written}
    assert {"loss", "loss/norm", "valid/NDCG@10", "valid/HR@10"} <= names
    first_loss = next(v for n, v, s in written if n == "loss" and s == 1)
    assert first_loss == pytest.approx(result["history"][0]["loss"])


def test_cosine_schedule_reaches_zero_at_the_last_step(split: LeaveOneOutSplit) -> None:
    torch.manual_seed(0)
    model = worker.TinyMean(split.num_items, dim=8)
    trainer = Trainer(model, split, _config(epochs=2, lr_schedule="cosine", warmup_epochs=1.0),
                      evaluator=loo_evaluator(split))
    steps_per_epoch = math.ceil(split.num_train_rows / 16)
    lrs = []
    trainer.on_epoch_end = lambda record: lrs.append(trainer.optimizer.param_groups[0]["lr"])
    trainer.fit()
    # after the warm-up epoch the factor is cos(0) = 1; after the last step cos(pi) -> 0
    assert lrs[0] == pytest.approx(0.01 * 0.5 * (1 + math.cos(0.0)))
    assert lrs[1] == pytest.approx(0.0, abs=1e-12)
    assert trainer.scheduler is not None and trainer.scheduler.last_epoch == 2 * steps_per_epoch
