#!/usr/bin/env bash
# The single-vector SASRec-CE under the user split over three seeds (the first re-runs the
# recorded seed-2024 run at the current code, keeping its run folder for paired comparisons),
# then SASRec-MI with K = 1 over two more seeds and the paired comparisons
# (benchmarks/compare_runs.sh). One run at a time.
#
#   bash benchmarks/run_pairs_user.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
B=$DATA/amazon-beauty
USER=(--protocol user train.metric=Recall@20 "protocol_options={ns: [20, 50]}" mask_history_eval=false
      train.max_len=30 train.epochs=60 train.patience=8 train.lr=0.004 train.batch_size=256)
for seed in 2024 2025 2026; do
  name=sasrec_ce_beauty_user; [ $seed = 2024 ] || name=sasrec_ce_beauty_user_s$seed
  if [ -f "runs/bench/$name/result.json" ]; then echo "skip $name (run exists)"; continue; fi
  echo "== $name ($(date -u +%H:%M) UTC)"
  python benchmarks/run_accuracy.py --name "$name" --label "SASRec (1 vector)" --data "$B" \
    --config examples/configs/sasrec_ce_beauty.yaml "${USER[@]}" train.seed=$seed || echo "FAILED $name"
done
# the K = 1 readout over two more seeds, to pair it with the single vector too
for seed in 2025 2026; do
  name=sasrec_mi_k1_beauty_user_s$seed
  if [ -f "benchmarks/results/$name.json" ]; then echo "skip $name (record exists)"; continue; fi
  echo "== $name ($(date -u +%H:%M) UTC)"
  python benchmarks/run_accuracy.py --name "$name" --label "SASRec-MI, K = 1, seed $seed" --data "$B" \
    --config examples/configs/sasrec_mi_beauty.yaml "${USER[@]}" model.num_interests=1 train.seed=$seed \
    || echo "FAILED $name"
done
bash benchmarks/compare_runs.sh
