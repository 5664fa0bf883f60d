"""Train SASRec through graphrec's Python API and evaluate it under leave-one-out.

The same job as ``graphrec train --model sasrec``, spelled out step by step:
load a dataset, build the leave-one-out split (train on ``s[:-2]``, validate on
``s[-2]``, test on ``s[-1]``), build SASRec (Kang & McAuley, ICDM 2018) with full
softmax cross-entropy, train it with the generic :class:`~graphrec.train.trainer.Trainer`
(early stopping on validation NDCG@10, best weights restored), then rank all
items for the test targets with :func:`~graphrec.eval.loo.evaluate_loo`, with and
without masking the user's earlier items.

Run::

    python examples/train_sasrec.py                                   # synthetic data, about 30 s
    python examples/train_sasrec.py --smoke                           # smallest setting (tests)
    python examples/train_sasrec.py --data ../shared/data/amazon-beauty --epochs 20   # ~10 minutes on CPU
"""

from __future__ import annotations

import argparse

from graphrec.data.load import load_dataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import evaluate_loo, loo_evaluator
from graphrec.models.sasrec import SASRec
from graphrec.train.config import TrainConfig
from graphrec.train.seed import seed_everything
from graphrec.train.trainer import Trainer

SMOKE_DATA = {"num_users": 200, "num_items": 150}  # tiny synthetic data for --smoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic", help="dataset spec (default: synthetic)")
    parser.add_argument("--epochs", type=int, default=15, help="maximum training epochs")
    parser.add_argument("--lr", type=float, default=0.004, help="Adam learning rate")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size D")
    parser.add_argument("--max-len", type=int, default=50, help="input window length L")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data, 1 epoch")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.max_len = 1, 20

    # 1. data: a SequenceDataset (CSR of time-ordered item ids 1..N per user)
    options = SMOKE_DATA if args.smoke and args.data == "synthetic" else {}
    dataset = load_dataset(args.data, **options)
    # 2. leave-one-out split, pre-padded to windows of the last max_len items
    split = LeaveOneOutSplit.build(dataset, max_len=args.max_len)
    print(f"{dataset.num_users} users, {dataset.num_items} items, {dataset.num_interactions} interactions; "
          f"{split.num_train_rows} training rows, {split.num_eval_rows} evaluated users")
    # 3. model: plain ints/floats only (never the dataset object)
    seed_everything(args.seed)
    model = SASRec(split.num_items, hidden_size=args.hidden, num_layers=2, num_heads=2, dropout=0.5,
                   max_len=args.max_len, loss="ce")
    # 4. the generic trainer: early stopping on validation NDCG@10, best weights kept in memory
    config = TrainConfig(epochs=args.epochs, batch_size=256, lr=args.lr, metric="NDCG@10", patience=5,
                         max_len=args.max_len, seed=args.seed, device=args.device, progress=False)
    trainer = Trainer(model, split, config, evaluator=loo_evaluator(split))
    fit = trainer.fit()
    print(f"best epoch {fit['best_epoch']} of {fit['epochs_run']}, valid NDCG@10 {fit['best_metric']:.4f}, "
          f"{fit['train_seconds']:.1f} s training ({fit['seq_per_s']:.0f} sequences/s)")
    # 5. full-ranking test evaluation: plain, and with the user's earlier items masked
    for mask in (False, True):
        test = evaluate_loo(trainer.model, split, "test", mask_history=mask, device=trainer.device)
        label = "history masked" if mask else "unmasked"
        print(f"test ({label}): HR@10 {test['HR@10']:.4f}  NDCG@10 {test['NDCG@10']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
