"""Plug your own model into graphrec: implement the model contract, register it, train it.

A model is a :class:`~graphrec.models.base.SequentialRecommender` with three methods:

* ``interests(batch) -> (B, K, D)`` — the user's interest vectors (``K = 1`` here);
* ``item_embeddings() -> (N + 1, D)`` — the item table they are scored against;
* ``loss_terms(batch) -> {name: scalar}`` — named training terms (weighted by
  ``train.loss_weights``, summed and logged by the trainer).

Everything else — batching, the training loop, early stopping, checkpoints,
full-ranking evaluation (``max_k <interest_k, item>``), ``result.json`` — is
shared. What a model needs beyond that comes through three doors, all used here:

* ``from_context(ctx, **options)`` — build-time facts from the split's training
  part (here: item → category, for an auxiliary next-category loss);
* ``training_batch(batch, generator)`` — the batch step (here: a cropped view of
  every row, drawn from the seeded generator, for a contrastive term averaged over
  rows, declared in ``loss_units``);
* lifecycle hooks — ``on_fit_start``, ``on_epoch_start``, ``on_step_end``,
  ``on_epoch_end`` (here: an exponential moving average of the projection after
  every step, kept in a buffer so that ``--resume`` is exact, and logged).

This example writes a *causal mean-pooling* recommender (the user is the mean of
the items seen so far, a bag-of-items baseline without order), registers it in
:data:`graphrec.models.MODELS` at run time and trains it with
:func:`~graphrec.experiment.runner.run_experiment` beside the POP baseline, the
contrastive term warmed up over the first epochs by a loss-weight schedule.

To make a model available to ``graphrec train --model NAME``, add
``"NAME": "your.module:ClassName"`` to ``MODELS`` in ``graphrec/models/__init__.py``.

Run::

    python examples/custom_model.py                                   # synthetic data, about 15 s
    python examples/custom_model.py --smoke                           # smallest setting (tests)
    python examples/custom_model.py --data ../shared/data/amazon-beauty --epochs 20
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.augment import crop
from graphrec.data.batch import SeqBatch
from graphrec.data.load import load_dataset
from graphrec.experiment.runner import ExperimentConfig, run_experiment
from graphrec.losses import info_nce, next_item_loss
from graphrec.models import MODELS
from graphrec.models.base import SequentialRecommender
from graphrec.models.config import ModelConfig
from graphrec.models.context import ModelContext
from graphrec.models.hooks import TrainState
from graphrec.train.config import TrainConfig

SMOKE_DATA = {"num_users": 200, "num_items": 150}  # tiny synthetic data for --smoke


@dataclass(frozen=True)
class CausalMeanPoolConfig(ModelConfig):
    """The options of :class:`CausalMeanPool` (YAML ``model.<name>``; checked in ``__post_init__``).

    Attributes:
        hidden_size: ``D``.
        dropout: dropout on the item embeddings of the input.
        init_std: std of the item table's normal initialisation (small: the
            initial cross entropy is then close to ``ln N``).
        crop_ratio: share of each row kept in the cropped view (0 turns ``"cl"`` off).
    """

    hidden_size: int = 64
    dropout: float = 0.2
    init_std: float = 0.02
    crop_ratio: float = 0.6


class CausalMeanPool(SequentialRecommender):
    """The user at position ``t`` is a projection of the mean of the items seen up to ``t``.

    .. math::

        h_t = W \\frac{1}{t} \\sum_{s \\le t} e_{i_s} + b, \\qquad
        \\mathcal{L} = -\\frac{1}{P} \\sum_{t} \\log
        \\frac{\\exp(h_t^\\top e_{i_{t+1}})}{\\sum_{j=1}^{N} \\exp(h_t^\\top e_j)}

    computed for every position at once with a cumulative sum (no loop over
    positions); padding (id 0, left of the sequence) has a zero embedding and is
    not counted. Two auxiliary terms:

    * ``"category"``: cross-entropy of the next item's category from :math:`h_t`
      (a mean over target positions; the item → category table comes from the
      model context);
    * ``"cl"``: InfoNCE between the newest state of each row and of a cropped view
      of it, other rows as negatives (a mean over rows).

    Args:
        num_items: ``N`` (ids ``1..N``, 0 = padding).
        config: :class:`CausalMeanPoolConfig` (or its fields as keywords).
        item_category: ``(N + 1,)`` category of every item (0 = unknown); ``None``
            turns the category term off.

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    #: what each term is a mean over (for exact data-parallel scaling); others: positions
    loss_units = {"cl": "rows"}
    Config = CausalMeanPoolConfig
    item_category: Tensor  # buffer (N + 1,)
    proj_ema: Tensor  # buffer (D, D)

    def __init__(self, num_items: int, config: CausalMeanPoolConfig | None = None, *,
                 item_category: np.ndarray | None = None, **options: Any) -> None:
        super().__init__(num_items, config, **options)  # self.config: the checked options
        hidden_size, dropout = self.config.hidden_size, self.config.dropout
        self.init_std = self.config.init_std
        self.crop_ratio = self.config.crop_ratio
        self.item = nn.Embedding(num_items + 1, hidden_size, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, hidden_size)  # W, b
        category = np.zeros(num_items + 1, dtype=np.int64) if item_category is None else item_category
        self.register_buffer("item_category", torch.as_tensor(category, dtype=torch.long))
        num_categories = int(category.max(initial=0))
        self.category_head = nn.Linear(hidden_size, num_categories + 1) if num_categories else None
        self.register_buffer("proj_ema", torch.zeros(hidden_size, hidden_size))
        self.reset_parameters()

    @classmethod
    def from_context(cls, ctx: ModelContext, **options: Any) -> SequentialRecommender:
        """Door 1: item → category of the dataset (training-part facts only live in ``ctx``)."""
        return cls(ctx.num_items, item_category=ctx.item_category, **options)

    def training_batch(self, batch: SeqBatch, generator: torch.Generator) -> SeqBatch:
        """Door 2: a cropped view of every row, row-aligned, drawn from the seeded generator."""
        if self.crop_ratio > 0:
            batch.extras["view"] = crop(batch.input_ids, self.crop_ratio, generator)  # (B, L)
        return batch

    def on_step_end(self, state: TrainState) -> None:
        """Door 3: a moving average of ``W`` after each optimizer step (in the state dict)."""
        self.proj_ema.mul_(0.99).add_(self.proj.weight.detach(), alpha=0.01)

    def on_epoch_end(self, state: TrainState) -> None:
        state.record["proj_ema_norm"] = float(self.proj_ema.norm())  # logged with the epoch

    def reset_parameters(self) -> None:
        nn.init.normal_(self.item.weight, std=self.init_std)
        with torch.no_grad():
            self.item.weight[0].zero_()
        self.proj.reset_parameters()

    def encode(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` left-padded ids -> ``(B, L, D)`` states :math:`h_t`."""
        e = self.dropout(self.item(input_ids))  # (B, L, D), zero at padding
        seen = (input_ids > 0).cumsum(dim=1).clamp_min(1).unsqueeze(-1)  # (B, L, 1) items up to t
        return self.proj(e.cumsum(dim=1) / seen)  # (B, L, D)

    def interests(self, batch: SeqBatch) -> Tensor:
        return self.encode(batch.input_ids)[:, -1:]  # (B, 1, D): the newest position

    def item_embeddings(self) -> Tensor:
        return self.item.weight  # (N + 1, D)

    def loss_terms(self, batch: SeqBatch) -> dict[str, Tensor]:
        if batch.target_ids is None:
            raise ValueError("CausalMeanPool.loss_terms needs a training batch with target_ids")
        hidden = self.encode(batch.input_ids)  # (B, L, D)
        terms = {"rec": next_item_loss(hidden, batch.target_ids, self.item_embeddings(), kind="ce")}
        if self.category_head is not None:
            valid = batch.target_ids > 0  # (B, L)
            logits = self.category_head(hidden[valid])  # (P, C + 1)
            terms["category"] = F.cross_entropy(logits, self.item_category[batch.target_ids[valid]])
        if "view" in batch.extras:
            view = self.encode(batch.extras["view"])[:, -1]  # (B, D)
            terms["cl"] = info_nce(hidden[:, -1], view, temperature=0.5, normalize=True)
        return terms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic", help="dataset spec (default: synthetic)")
    parser.add_argument("--epochs", type=int, default=15, help="maximum training epochs")
    parser.add_argument("--lr", type=float, default=0.004, help="Adam learning rate")
    parser.add_argument("--out", help="keep result.json and checkpoints here (default: a temporary dir)")
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data, 1 epoch")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = 1

    # 1. register the class under a name: "module:ClassName", imported on first use by resolve()
    MODELS["meanpool"] = f"{CausalMeanPool.__module__}:{CausalMeanPool.__qualname__}"

    options = SMOKE_DATA if args.smoke and args.data == "synthetic" else {}
    dataset = load_dataset(args.data, **options)
    # the contrastive term is warmed up linearly over 3 epochs; the category term weighs 0.2
    weights = {"cl": {"weight": 0.1, "schedule": "warmup", "warmup_epochs": 3}, "category": 0.2}
    train = TrainConfig(epochs=args.epochs, lr=args.lr, max_len=20 if args.smoke else 50, patience=5,
                        progress=False)
    # 2. the registered model now runs through the same experiment runner as the built-in ones
    with tempfile.TemporaryDirectory() as tmp:
        for name, model_options in (("pop", {}), ("meanpool", {"hidden_size": 64})):
            cfg = ExperimentConfig(data=args.data, data_options=options, model=name,
                                   model_options=model_options,
                                   train=train.replace(loss_weights=weights if name == "meanpool" else {}),
                                   output_dir=f"{args.out or tmp}/{name}")
            result = run_experiment(cfg, dataset=dataset)
            test = result["metrics"]["test"]
            print(f"{name:>8}: test HR@10 {test['HR@10']:.4f}  NDCG@10 {test['NDCG@10']:.4f}  "
                  f"({result['num_parameters']} parameters, best epoch {result['best_epoch']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
