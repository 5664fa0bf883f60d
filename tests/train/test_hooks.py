"""Lifecycle hooks, the batch step and their state across an interrupted + resumed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.models.hooks import TrainState, mix_seed
from graphrec.train.checkpoint import LAST, load_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train import ddp_worker as worker


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(worker.make_dataset(num_users=80, num_items=30), max_len=8)


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(epochs=3, batch_size=16, lr=0.01, seed=3, progress=False, patience=0,
                                loss_weights={"norm": 0.01, "intent": 0.1, "cl": 0.5}, eval_batch_size=32)
    base.update(kw)
    return TrainConfig(**base)


class Recorder(worker.TinyMean):  # type: ignore[misc, name-defined]
    """Logs every hook call, and whether ``last.pt`` already held the epoch at ``on_epoch_end``."""

    def __init__(self, num_items: int, ckpt: Path) -> None:
        super().__init__(num_items, dim=8)
        self.calls: list[tuple[str, int, int]] = []
        self.ckpt = ckpt
        self.seen_rows = 0
        self.batch_seeds: list[int] = []

    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        self.batch_seeds.append(generator.initial_seed())
        return batch

    def on_fit_start(self, state: TrainState) -> None:
        self.calls.append(("fit_start", state.epoch, state.step))

    def on_epoch_start(self, state: TrainState) -> None:
        self.calls.append(("epoch_start", state.epoch, state.step))
        assert self.training  # restored after the walk over the training rows
        self.seen_rows = sum(b.batch_size for b in state.iter_train_sequences(7))
        assert self.training

    def on_step_end(self, state: TrainState) -> None:
        self.calls.append(("step_end", state.epoch, state.step))

    def on_epoch_end(self, state: TrainState) -> None:
        self.calls.append(("epoch_end", state.epoch, state.step))
        last = self.ckpt / LAST
        assert not last.exists() or load_checkpoint(last)["epoch"] == state.epoch - 1
        state.record["custom"] = state.epoch * 10


def test_hooks_run_in_order_before_the_checkpoint(split: LeaveOneOutSplit, tmp_path: Path) -> None:
    model = Recorder(split.num_items, tmp_path / "ckpt")
    result = Trainer(model, split, _config(epochs=2, loss_weights={"norm": 0.01},
                                           checkpoint_dir=str(tmp_path / "ckpt")),
                                               evaluator=loo_evaluator(split)).fit()
    steps = -(-split.num_train_rows // 16)
    expected = [("fit_start", 0, 0)]
    for epoch in (1, 2):
        done = (epoch - 1) * steps
        expected.append(("epoch_start", epoch, done))
        expected += [("step_end", epoch, done + s + 1) for s in range(steps)]
        expected.append(("epoch_end", epoch, epoch * steps))
    assert model.calls == expected
    assert model.seen_rows == split.num_train_rows
    assert [r["custom"] for r in result["history"]] == [10, 20]  # hooks may add to the log record
    assert model.batch_seeds == [mix_seed(3, e, s) for e in (1, 2) for s in range(steps)]


def test_mix_seed_is_stable_and_separates_triples() -> None:
    assert mix_seed(3, 1, 0) == mix_seed(3, 1, 0)
    seeds = {mix_seed(s, e, t) for s in range(3) for e in range(3) for t in range(3)}
    assert len(seeds) == 27 and all(0 <= x < 2**63 for x in seeds)
    assert mix_seed(1, 2) != mix_seed(2, 1)


def _toy(split: LeaveOneOutSplit, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return worker.IntentToy(split.num_items, dim=8, dropout=0.3)


def test_interrupted_and_resumed_run_equals_uninterrupted_bit_for_bit(split: LeaveOneOutSplit,
                                                                     tmp_path: Path) -> None:
    """k-means at each epoch start, EMA after each step, a shuffled view from the batch step."""
    straight_dir = tmp_path / "straight"
    straight = Trainer(_toy(split), split, _config(epochs=4, checkpoint_dir=str(straight_dir)),
                       evaluator=loo_evaluator(split)).fit()

    def crash_after_two(record: dict[str, Any]) -> None:
        if record["epoch"] == 2:
            raise Interrupt

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Interrupt):
        Trainer(_toy(split), split, _config(epochs=4, checkpoint_dir=str(ckpt)),
                on_epoch_end=crash_after_two, evaluator=loo_evaluator(split)).fit()
    resumed = Trainer(_toy(split, seed=99), split, _config(epochs=4, checkpoint_dir=str(ckpt),
                      resume=True), evaluator=loo_evaluator(split)).fit()
    assert resumed["resumed_from"] == 2
    for a, b in zip(straight["history"], resumed["history"], strict=True):
        assert {k: v for k, v in a.items() if k.startswith(("loss", "ema"))} == \
               {k: v for k, v in b.items() if k.startswith(("loss", "ema"))}
        assert a["valid"]["NDCG@10"] == b["valid"]["NDCG@10"]
    final_a = load_checkpoint(straight_dir / LAST)["model"]
    final_b = load_checkpoint(ckpt / LAST)["model"]
    for name in ("prototypes", "ema", "steps_seen", "proj.weight", "emb.weight"):
        assert torch.equal(final_a[name], final_b[name]), name
    steps = -(-split.num_train_rows // 16)
    assert int(final_b["steps_seen"]) == 4 * steps
    assert float(final_b["prototypes"].abs().sum()) > 0  # the epoch-start k-means ran


class Bad(worker.TinyMean):  # type: ignore[misc, name-defined]
    loss_units = {"ce": "pairs"}


def test_a_term_over_an_uncounted_unit_is_an_error(split: LeaveOneOutSplit) -> None:
    with pytest.raises(ValueError, match="'ce' averages over 'pairs'.*loss_counts"):
        Trainer(Bad(split.num_items, dim=8), split, _config(epochs=1, loss_weights={}),
                evaluator=loo_evaluator(split)).fit()


def test_default_loss_units(split: LeaveOneOutSplit) -> None:
    model = worker.TinyMean(split.num_items, dim=8)
    batch = split.train_batch(torch.arange(5).numpy())
    counts = model.loss_counts(batch)
    assert counts == {"positions": float((batch.target_ids > 0).sum()), "rows": 5.0}
    assert model.loss_unit("ce", batch) == "positions"
    no_targets = SeqBatch(input_ids=batch.input_ids, user_ids=batch.user_ids)
    assert model.loss_unit("ce", no_targets) == "rows"
    assert worker.IntentToy.loss_units["cl"] == "rows"


def test_batch_select_cuts_rows_and_extras() -> None:
    batch = SeqBatch(input_ids=torch.arange(12).view(4, 3), user_ids=torch.arange(4),
                     target_ids=torch.arange(12).view(4, 3) + 1, extras={"view": torch.arange(4) * 10})
    part = batch.select(torch.tensor([3, 1]))
    assert part.input_ids.tolist() == [[9, 10, 11], [3, 4, 5]]
    assert part.user_ids.tolist() == [3, 1] and part.extras["view"].tolist() == [30, 10]
    bad = SeqBatch(input_ids=batch.input_ids, user_ids=batch.user_ids, extras={"w": torch.ones(2)})
    with pytest.raises(ValueError, match="not row-aligned"):
        bad.select(torch.tensor([0]))


def test_train_sequences_need_a_trainer() -> None:
    state = TrainState(seed=0, epoch=1, step=0, epochs=1, steps_per_epoch=1, device=torch.device("cpu"))
    with pytest.raises(RuntimeError, match="no access"):
        next(state.iter_train_sequences())
    assert isinstance(state.generator().initial_seed(), int)


def test_kmeans_recovers_separated_clusters() -> None:
    from graphrec.nn.kmeans import kmeans

    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = centers.repeat_interleave(20, 0) + 0.1 * torch.randn(60, 2, generator=g)
    found, assign = kmeans(points, 3, generator=torch.Generator().manual_seed(1))
    # every true cluster maps to one found cluster, and the centroids are the group means
    for k in range(3):
        labels = assign[k * 20:(k + 1) * 20]
        assert bool((labels == labels[0]).all())
        assert torch.allclose(found[labels[0]], points[k * 20:(k + 1) * 20].mean(0), atol=1e-5)
    again, _ = kmeans(points, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(found, again)
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans(points[:2], 3)
