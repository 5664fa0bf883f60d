#!/usr/bin/env bash
# SASRec-MI (SASRec's transformer, K interests per prefix, dense full-CE training) under the user
# split beside the single-vector SASRec-CE of run_multi_interest.sh: Beauty, then Ta-Feng, then
# the K = 1 control and seeds. One run at a time, resumable; ONLY=REGEX runs a subset.
#
#   bash benchmarks/run_sasrec_mi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
T=${TAFENG:-data/tafeng}
B=$DATA/amazon-beauty
USER=(--protocol user train.metric=Recall@20 "protocol_options={ns: [20, 50]}" mask_history_eval=false train.max_len=30)

source benchmarks/lib.sh
if [ ! -f "$T/meta.json" ]; then
  graphrec prepare tafeng --input "$DATA/tafeng/ta_feng.csv.zip" --min-item-count 12 --min-length 12 --out "$T"
fi
run() {  # name label data overrides...
  local name=$1 label=$2 data=$3; shift 3
  record "$name" "$label" "$data" examples/configs/sasrec_mi_beauty.yaml "${USER[@]}" "$@"
}

run sasrec_mi_beauty_user    "SASRec-MI, K = 4"  "$B"
run sasrec_mi_tafeng_user    "SASRec-MI, K = 4"  "$T"
run sasrec_mi_k1_beauty_user "SASRec-MI, K = 1"  "$B" model.num_interests=1
run sasrec_mi_k1_tafeng_user "SASRec-MI, K = 1"  "$T" model.num_interests=1
for seed in 2025 2026; do
  run "sasrec_mi_beauty_user_s$seed" "SASRec-MI, K = 4, seed $seed" "$B" train.seed=$seed
done
