"""Training a multi-interest model with a sparse item table: ``model.sparse_items`` + ``lazy_adam``.

The trainer refuses sparse gradients without LazyAdam, clips them, resumes LazyAdam
exactly, and the command line trains ComiRec-SA with both settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from graphrec.cli import main
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.experiment.config import build_experiment_config, build_model
from graphrec.models.comirec import ComiRecSA
from graphrec.models.multi_interest import MultiInterestRecommender
from graphrec.train.checkpoint import LAST, load_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train import ddp_worker as worker


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(worker.make_dataset(num_users=80, num_items=30), max_len=8)


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(epochs=2, batch_size=16, lr=0.01, seed=3, progress=False, patience=0,
                                eval_batch_size=32, optimizer="lazy_adam")
    base.update(kw)
    return TrainConfig(**base)


def _model(split: LeaveOneOutSplit, seed: int = 0, sparse: bool = True) -> ComiRecSA:
    torch.manual_seed(seed)
    return ComiRecSA(split.num_items, hidden_size=8, max_len=8, num_negatives=8, sparse_items=sparse)


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    drop = ("seconds", "users_per_s")
    return {f"{w}/{k}": v for w in ("valid", "test") for k, v in result[w].items() if k not in drop}


def test_config_accepts_lazy_adam() -> None:
    assert TrainConfig(optimizer="LAZY_ADAM").optimizer == "lazy_adam"
    with pytest.raises(ValueError, match="lazy_adam"):
        TrainConfig(optimizer="sgd")


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_sparse_gradients_need_lazy_adam(split: LeaveOneOutSplit, optimizer: str) -> None:
    model = _model(split)
    assert model.sparse_gradients
    with pytest.raises(ValueError, match="train.optimizer=lazy_adam"):
        Trainer(model, split, _config(optimizer=optimizer), evaluator=loo_evaluator(split))
    dense = _model(split, sparse=False)
    assert not dense.sparse_gradients
    Trainer(dense, split, _config(optimizer=optimizer),
            evaluator=loo_evaluator(split))  # dense tables train with any optimizer


def test_item_table_gradient_is_sparse_and_only_its_batch_rows_move(split: LeaveOneOutSplit) -> None:
    model = _model(split)
    trainer = Trainer(model, split, _config(epochs=1, batch_size=8), evaluator=loo_evaluator(split))
    assert trainer.optimizer is not None
    batch, _ = trainer._step_batch(1, 0, torch.arange(8).numpy())
    before = model.item.weight.detach().clone()
    torch.manual_seed(0)
    model.loss_terms(batch)["rec"].backward()
    grad = model.item.weight.grad
    assert grad is not None and grad.is_sparse
    touched = torch.unique(grad.coalesce().indices()[0])
    trainer.optimizer.step()
    moved = (model.item.weight.detach() != before).any(dim=1).nonzero().squeeze(1)
    assert set(moved.tolist()) <= set(touched.tolist())
    assert 0 < len(touched) < model.item.weight.shape[0] and 0 not in touched.tolist()


def test_lazy_adam_resumes_exactly(split: LeaveOneOutSplit, tmp_path: Path) -> None:
    straight = Trainer(_model(split), split, _config(epochs=4), evaluator=loo_evaluator(split)).fit()

    class Interrupt(Exception):
        pass

    def crash_after_two(record: dict[str, Any]) -> None:
        if record["epoch"] == 2:
            raise Interrupt

    ckpt = str(tmp_path / "ckpt")
    with pytest.raises(Interrupt):
        Trainer(_model(split), split, _config(epochs=4, checkpoint_dir=ckpt),
                on_epoch_end=crash_after_two, evaluator=loo_evaluator(split)).fit()
    saved = load_checkpoint(Path(ckpt) / LAST)
    assert saved["epoch"] == 2 and saved["optimizer"]["state"]  # LazyAdam's moments were checkpointed
    fresh = _model(split, seed=123)  # another init: resume must not depend on it
    resumed = Trainer(fresh, split, _config(epochs=4, checkpoint_dir=ckpt, resume=True),
                      evaluator=loo_evaluator(split)).fit()
    assert resumed["resumed_from"] == 2
    assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in straight["history"]]
    assert _metrics(resumed) == _metrics(straight)


def test_grad_clip_with_sparse_gradients(split: LeaveOneOutSplit) -> None:
    model = _model(split)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    Trainer(model, split, _config(epochs=1, grad_clip=1e-12), evaluator=loo_evaluator(split)).fit()
    # Adam's step is g / (|g| + eps): with |g| <= 1e-12 and eps = 1e-8 it is ~ lr * 1e-4
    change = max(float((model.state_dict()[k] - before[k]).abs().max()) for k in before)
    assert 0 < change < 1e-4
    free = _model(split)
    Trainer(free, split, _config(epochs=1), evaluator=loo_evaluator(split)).fit()
    assert max(float((free.state_dict()[k] - before[k]).abs().max()) for k in before) > 1e-3


def test_lazy_adam_with_param_groups(split: LeaveOneOutSplit) -> None:
    model = _model(split)
    cfg = _config(epochs=1, weight_decay=0.01, param_groups=[{"params": "@embedding", "weight_decay": 0.0},
                                                             {"params": "position", "lr": 0.001}])
    trainer = Trainer(model, split, cfg, evaluator=loo_evaluator(split))
    assert trainer.optimizer is not None
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert groups["@embedding"]["weight_decay"] == 0.0 and groups["position"]["lr"] == 0.001
    assert any(p is model.item.weight for p in groups["@embedding"]["params"])
    assert groups["default"]["weight_decay"] == 0.01
    result = trainer.fit()
    assert result["epochs_run"] == 1 and result["history"][0]["loss"] > 0


def test_lazy_adam_on_a_dense_model_trains_as_adam(split: LeaveOneOutSplit) -> None:
    losses = {}
    for optimizer in ("adam", "lazy_adam"):
        torch.manual_seed(0)
        model = worker.TinyMean(split.num_items, dim=8)
        result = Trainer(model, split, _config(optimizer=optimizer, loss_weights={"norm": 0.01}),
                         evaluator=loo_evaluator(split)).fit()
        losses[optimizer] = [r["loss"] for r in result["history"]]
    assert losses["lazy_adam"] == pytest.approx(losses["adam"], rel=1e-5)


@pytest.mark.parametrize("name", ["comirec_sa", "comirec_dr", "mind"])
def test_sparse_items_is_a_model_option(split: LeaveOneOutSplit, name: str) -> None:
    cfg = build_experiment_config(settings={"model": name},
                                  overrides=["model.sparse_items=true", "model.hidden_size=8",
                                             "train.optimizer=lazy_adam"])
    model = build_model(cfg, split)
    assert isinstance(model, MultiInterestRecommender) and model.sparse_items and model.sparse_gradients
    assert "sparse_items=True" in model.extra_repr()
    off = build_model(build_experiment_config(settings={"model": name}, overrides=["model.hidden_size=8"]),
                      split)
    assert isinstance(off, MultiInterestRecommender) and not off.sparse_items


def test_cli_trains_comirec_sa_with_a_sparse_item_table(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    tiny = ["data_options.num_users=200", "data_options.num_items=120", "data_options.num_categories=12",
            "data_options.num_intents=4", "train.batch_size=64", "model.hidden_size=16",
            "model.num_negatives=64"]
    out = tmp_path / "run"
    code = main(["train", "--model", "comirec_sa", "--protocol", "user", "--epochs", "1", "--out", str(out),
                 "--no-progress", "model.sparse_items=true", "train.optimizer=lazy_adam", *tiny])
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["model"] == "comirec_sa" and result["epochs_run"] == 1
    log = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(log) == 1 and log[0]["loss"] > 0
    # without lazy_adam the run is refused with the fix in the message
    capsys.readouterr()
    assert main(["train", "--model", "comirec_sa", "--protocol", "user", "--epochs", "1",
                 "--out", str(tmp_path / "refused"), "--no-progress", "model.sparse_items=true", *tiny]) == 2
    assert "train.optimizer=lazy_adam" in capsys.readouterr().err

