#!/usr/bin/env bash
# Reproduce every accuracy record in benchmarks/results/ (one run at a time; the baselines take about
# 1.5 hours on 2 CPU cores, the method families below many more). A record that already exists is
# skipped (delete it to rerun); ONLY=REGEX runs a subset. Then: python benchmarks/render_table.py
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
COMMON="mask_history_eval=true train.epochs=60 train.patience=8"

source benchmarks/lib.sh
run() {  # name label data model overrides...
  local name=$1 label=$2 data=$3 model=$4; shift 4
  record "$name" "$label" "$data" "model=$model" $COMMON "$@"
}

for ds in amazon-beauty amazon-sports ml-100k; do
  short=${ds#amazon-}
  run "sasrec_ce_$short"   "full CE"          "$DATA/$ds" sasrec  train.lr=0.004
  run "sasrec_bce_$short"  "BCE, 1 negative"  "$DATA/$ds" sasrec  train.lr=0.002 model.loss=bce model.num_negatives=1 train.epochs=100 train.patience=10
  run "gru4rec_ce_$short"  "full CE"          "$DATA/$ds" gru4rec train.lr=0.004
  run "pop_$short"         "popularity"       "$DATA/$ds" pop
done
run "sasrec_ce_cosine_beauty" "full CE, cosine lr" "$DATA/amazon-beauty" sasrec train.lr=0.004 train.lr_schedule=cosine train.warmup_epochs=1 train.epochs=30 train.patience=30
run "srgnn_ce_beauty" "full CE, 4 prefixes per row" "$DATA/amazon-beauty" srgnn train.lr=0.004 model.cuts_per_row=4
# the next-item model (SASRec's head, full CE) with each registered sequence encoder, same runner and budget
for enc in transformer gru session_gnn; do
  run "encoder_${enc}_beauty" "next-item, $enc encoder" "$DATA/amazon-beauty" sasrec train.lr=0.004 model.encoder=$enc
done
bash benchmarks/run_s4rec_family.sh
bash benchmarks/run_multi_interest.sh
bash benchmarks/run_dssrec_dsie.sh
