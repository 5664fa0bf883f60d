"""Plug your own model into graphrec: implement the model contract, register it, train it.

A model is a :class:`~graphrec.models.base.SequentialRecommender` with three methods:

* ``interests(batch) -> (B, K, D)`` — the user's interest vectors (``K = 1`` here);
* ``item_embeddings() -> (N + 1, D)`` — the item table they are scored against;
* ``loss_terms(batch) -> {name: scalar}`` — named training terms (weighted by
  ``train.loss_weights``, summed and logged by the trainer).

Everything else — batching, the training loop, early stopping, checkpoints,
full-ranking evaluation (``max_k <interest_k, item>``), ``result.json`` — is
shared. This example writes a *causal mean-pooling* recommender (the user is the
mean of the items seen so far, a bag-of-items baseline without order), registers
it in :data:`graphrec.models.MODELS` at run time and trains it with
:func:`~graphrec.train.experiment.run_experiment` beside the POP baseline.

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

import torch
from torch import Tensor, nn

from graphrec.data.batch import SeqBatch
from graphrec.data.load import load_dataset
from graphrec.losses import next_item_loss
from graphrec.models import MODELS
from graphrec.models.base import SequentialRecommender
from graphrec.train.config import TrainConfig
from graphrec.train.experiment import ExperimentConfig, run_experiment

SMOKE_DATA = {"num_users": 200, "num_items": 150}  # tiny synthetic data for --smoke


class CausalMeanPool(SequentialRecommender):
    """The user at position ``t`` is a projection of the mean of the items seen up to ``t``.

    .. math::

        h_t = W \\frac{1}{t} \\sum_{s \\le t} e_{i_s} + b, \\qquad
        \\mathcal{L} = -\\frac{1}{P} \\sum_{t} \\log
        \\frac{\\exp(h_t^\\top e_{i_{t+1}})}{\\sum_{j=1}^{N} \\exp(h_t^\\top e_j)}

    computed for every position at once with a cumulative sum (no loop over
    positions); padding (id 0, left of the sequence) has a zero embedding and is
    not counted.

    Args:
        num_items: ``N`` (ids ``1..N``, 0 = padding).
        hidden_size: ``D``.
        dropout: dropout on the item embeddings of the input.
        init_std: std of the item table's normal initialisation (small: the
            initial cross entropy is then close to ``ln N``).

    Shapes:
        ``interests``: ``(B, 1, D)``; ``item_embeddings``: ``(N + 1, D)``.
    """

    def __init__(
        self, num_items: int, hidden_size: int = 64, dropout: float = 0.2, init_std: float = 0.02
    ) -> None:
        super().__init__(num_items)
        self.init_std = init_std
        self.item = nn.Embedding(num_items + 1, hidden_size, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, hidden_size)  # W, b
        self.reset_parameters()

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
        return {"rec": next_item_loss(hidden, batch.target_ids, self.item_embeddings(), kind="ce")}


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
    train = TrainConfig(epochs=args.epochs, lr=args.lr, max_len=20 if args.smoke else 50, patience=5,
                        progress=False)
    # 2. the registered model now runs through the same experiment runner as the built-in ones
    with tempfile.TemporaryDirectory() as tmp:
        for name, model_options in (("pop", {}), ("meanpool", {"hidden_size": 64})):
            cfg = ExperimentConfig(data=args.data, data_options=options, model=name,
                                   model_options=model_options, train=train,
                                   output_dir=f"{args.out or tmp}/{name}")
            result = run_experiment(cfg, dataset=dataset)
            test = result["metrics"]["test"]
            print(f"{name:>8}: test HR@10 {test['HR@10']:.4f}  NDCG@10 {test['NDCG@10']:.4f}  "
                  f"({result['num_parameters']} parameters, best epoch {result['best_epoch']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
