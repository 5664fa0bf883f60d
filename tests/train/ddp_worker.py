"""Helpers for the trainer tests, and a script run under ``torch.distributed.run``.

``TinyMean`` is a minimal model of the graphrec contract: the interest after
position ``t`` is a linear map of the running mean of the item embeddings up to
``t``; it is trained with full-softmax next-item cross-entropy averaged over target
positions, plus a small penalty on the interest norm (also a per-position mean).

``IntentToy`` adds what the seed methods use through the model contract, ICLRec
style: a batch step that draws a shuffled view of every row, k-means over every
training sequence at each epoch start (prototypes in a buffer), an exponential
moving average of a weight after each optimizer step (a buffer), a per-row intent
loss and an in-batch-negatives InfoNCE between the two views (per-row mean).
``groups=G`` computes that InfoNCE separately on the row slices ``g::G`` and takes
the row-weighted mean: the single-process twin of a ``G``-process run, in which
each rank's negatives are its own slice.

As a script: ``python ddp_worker.py OUT.json [MODEL [GROUPS]]`` trains ``TinyMean``
(default) or ``IntentToy`` on fixed random data and writes the fit result
(valid/test metrics, losses) from rank 0.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from graphrec.data.augment import item_shuffle
from graphrec.data.batch import SeqBatch
from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.losses import info_nce
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.models.hooks import TrainState
from graphrec.nn.kmeans import kmeans


@dataclass(frozen=True)
class TinyMeanConfig(ModelConfig):
    dim: int = 16
    dropout: float = 0.0


class TinyMean(SequentialRecommender):
    """Running mean of item embeddings -> linear -> dot product with item embeddings."""

    Config = TinyMeanConfig

    def __init__(self, num_items: int, config: TinyMeanConfig | None = None, **options: Any) -> None:
        super().__init__(num_items, config, **options)
        dim = self.config.dim
        self.emb = nn.Embedding(num_items + 1, dim, padding_idx=0)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(self.config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.emb.weight, std=0.1)
        with torch.no_grad():
            self.emb.weight[0].zero_()
        self.proj.reset_parameters()

    def _states(self, input_ids: Tensor) -> Tensor:
        mask = (input_ids > 0).unsqueeze(-1).float()  # (B, L, 1)
        e = self.dropout(self.emb(input_ids)) * mask  # (B, L, D)
        mean = e.cumsum(1) / mask.cumsum(1).clamp(min=1.0)  # (B, L, D)
        return self.proj(mean)  # (B, L, D)

    def interests(self, batch: SeqBatch) -> Tensor:
        return self._states(batch.input_ids)[:, -1:, :]  # (B, 1, D)

    def item_embeddings(self) -> Tensor:
        return self.emb.weight

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        assert batch.target_ids is not None
        h = self._states(batch.input_ids)  # (B, L, D)
        valid = batch.target_ids > 0  # (B, L)
        logits = h[valid] @ self.emb.weight.T  # (P, N + 1)
        ce = nn.functional.cross_entropy(logits, batch.target_ids[valid])
        norm = h[valid].pow(2).sum(-1).mean()
        return {"ce": ce, "norm": norm}


class IntentToy(TinyMean):
    """TinyMean + batch step, epoch-start k-means, per-step EMA, per-row and in-batch terms."""

    loss_units = {"intent": "rows", "cl": "rows"}
    prototypes: Tensor
    ema: Tensor
    steps_seen: Tensor

    def __init__(self, num_items: int, dim: int = 16, dropout: float = 0.0, num_intents: int = 3,
                 groups: int = 1) -> None:
        super().__init__(num_items, dim=dim, dropout=dropout)
        self.groups = groups
        self.register_buffer("prototypes", torch.zeros(num_intents, dim))
        self.register_buffer("ema", torch.zeros(dim, dim))
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))

    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        batch.extras["view"] = item_shuffle(batch.input_ids, generator)
        return batch

    def on_epoch_start(self, state: TrainState) -> None:
        reps = torch.cat([self._states(b.input_ids)[:, -1] for b in state.iter_train_sequences(32)])
        centroids, _ = kmeans(reps, self.prototypes.shape[0], num_iters=10, generator=state.generator())
        self.prototypes.copy_(centroids)

    def on_step_end(self, state: TrainState) -> None:
        self.ema.mul_(0.9).add_(self.proj.weight.detach(), alpha=0.1)
        self.steps_seen += 1

    def on_epoch_end(self, state: TrainState) -> None:
        state.record["ema_norm"] = float(self.ema.norm())

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        terms = super().loss_terms(batch)
        last = self._states(batch.input_ids)[:, -1]  # (B, D)
        view = self._states(batch.extras["view"])[:, -1]  # (B, D)
        nearest = (last @ self.prototypes.T).argmax(dim=1)  # (B,)
        terms["intent"] = (last - self.prototypes[nearest]).pow(2).sum(-1).mean()
        rows = torch.arange(last.shape[0], device=last.device)
        parts = [rows[g::self.groups] for g in range(self.groups)]
        terms["cl"] = sum(info_nce(last[r], view[r], 0.5, normalize=True) * len(r) for r in parts
                          if len(r)) / last.shape[0]  # type: ignore[assignment]
        return terms


def train_state(split: LeaveOneOutSplit) -> TrainState:
    """A hook state at epoch 1 whose ``iter_train_sequences`` walks every training row of ``split``."""

    def rows(batch_size: int) -> Any:
        for start in range(0, split.num_train_rows, batch_size):
            yield split.train_batch(np.arange(start, min(start + batch_size, split.num_train_rows)))

    return TrainState(seed=1, epoch=1, step=0, epochs=1, steps_per_epoch=1, device=torch.device("cpu"),
                      train_sequences=rows)


def make_dataset(num_users: int = 120, num_items: int = 40, seed: int = 0) -> SequenceDataset:
    """Random sequences with a learnable pattern: next item = previous + 1 (mod N) mostly."""
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(num_users):
        length = int(rng.integers(3, 15))
        start = int(rng.integers(1, num_items + 1))
        steps = np.where(rng.random(length) < 0.8, 1, rng.integers(1, num_items, size=length))
        seqs.append(((start - 1 + np.cumsum(steps) - steps[0]) % num_items) + 1)
    return SequenceDataset.from_sequences(seqs, num_items=num_items)


def main(out: str, model_name: str = "tinymean", groups: int = 1) -> None:
    from graphrec import distributed
    from graphrec.train.config import TrainConfig
    from graphrec.train.trainer import Trainer

    torch.set_num_threads(1)
    with distributed.process_group("cpu") as info:
        split = LeaveOneOutSplit.build(make_dataset(), max_len=8)
        torch.manual_seed(0)
        if model_name == "intent":
            model: TinyMean = IntentToy(split.num_items, dim=16, dropout=0.0, groups=groups)
            weights = {"norm": 0.01, "intent": 0.1, "cl": 0.5}
        else:
            model = TinyMean(split.num_items, dim=16, dropout=0.0)
            weights = {"norm": 0.01}
        cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, seed=0, progress=False, patience=0,
                          loss_weights=weights, eval_batch_size=25)
        result = Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()
        if info.is_main:
            keep = {k: result[k] for k in ("valid", "test", "best_epoch")}
            keep["losses"] = [r["loss"] for r in result["history"]]
            keep["world_size"] = info.world_size
            keep["terms"] = [{k: v for k, v in r.items() if k.startswith("loss/")} for r in result["history"]]
            with open(out, "w") as fh:
                json.dump(keep, fh)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:3], *[int(g) for g in sys.argv[3:4]])
