#!/usr/bin/env bash
# Multi-interest training recipes under the user split (selection on validation Recall@20):
# ComiRec-SA trained with `recipe=dense` (every prefix of every training window, each position's
# target against the whole catalogue through its best interest, SASRec-CE's learning rate, batch
# and patience), with `recipe=comirec` (ComiRec's iterator: users uniform, a cut k >= 4 over the
# whole sequence, the sampled softmax, the papers' lr 1e-3 and batch 128), and the K = 1 control
# under `dense`. The single-vector SASRec-CE and the one-prefix ComiRec-SA records of
# run_multi_interest.sh are the rows these are read against. One run at a time, resumable;
# ONLY=REGEX runs a subset (benchmarks/lib.sh).
#
#   bash benchmarks/run_recipes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
T=${TAFENG:-data/tafeng}
B=$DATA/amazon-beauty
USER=(--protocol user train.metric=Recall@20 "protocol_options={ns: [20, 50]}" mask_history_eval=false train.max_len=30)
DENSE="model.recipe=dense model.position_origin=oldest train.epochs=60 train.patience=8 train.lr=0.004 train.batch_size=256"
COMIREC="model.recipe=comirec train.epochs=100 train.patience=10 train.lr=0.001 train.batch_size=128"

source benchmarks/lib.sh
run() {  # name label data config overrides...
  local name=$1 label=$2 data=$3 config=$4; shift 4
  record "$name" "$label" "$data" "examples/configs/${config}.yaml" "${USER[@]}" "$@"
}

run comirec_sa_dense_beauty_user    "ComiRec-SA, dense"         "$B" comirec_sa_beauty $DENSE
run comirec_sa_comirec_beauty_user  "ComiRec-SA, ComiRec's sampler" "$B" comirec_sa_beauty $COMIREC
run comirec_sa_dense_k1_beauty_user "ComiRec-SA, dense, K = 1"  "$B" comirec_sa_beauty $DENSE model.num_interests=1
if [ ! -f "$T/meta.json" ]; then
  graphrec prepare tafeng --input "$DATA/tafeng/ta_feng.csv.zip" --min-item-count 12 --min-length 12 --out "$T"
fi
run comirec_sa_dense_tafeng_user    "ComiRec-SA, dense"         "$T" comirec_sa_beauty $DENSE
run comirec_sa_comirec_tafeng_user  "ComiRec-SA, ComiRec's sampler" "$T" comirec_sa_beauty $COMIREC
