#!/usr/bin/env bash
# Multi-interest models and DSSRec/DSIE on Amazon Beauty, one run at a time (a record that exists is
# skipped; an interrupted run resumes). User split (ComiRec protocol, selection on Recall@20) for the
# multi-interest models, leave-one-out for DSSRec. Short budget (at most 30 epochs, patience 5):
# first records, not tuned.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
B=$DATA/amazon-beauty
USER_COMMON="--protocol user train.epochs=30 train.patience=5 train.metric=Recall@20"

run() {  # name label config overrides...
  local name=$1 label=$2 config=$3; shift 3
  if [ -f "benchmarks/results/$name.json" ]; then echo "skip $name (record exists)"; return; fi
  echo "== $name"
  python benchmarks/run_accuracy.py --name "$name" --label "$label" --data "$B" \
    --config "examples/configs/${config}.yaml" "$@"
}

run comirec_sa_beauty_user "ComiRec-SA"   comirec_sa_beauty $USER_COMMON
run comirec_dr_beauty_user "ComiRec-DR"   comirec_dr_beauty $USER_COMMON
run mind_beauty_user       "MIND"         mind_beauty       $USER_COMMON
run hpcl4sr_beauty_user    "HPCL4SR"      hpcl4sr_beauty    $USER_COMMON
run dsie_beauty_user       "DSIE"         dsie_beauty       $USER_COMMON
run dssrec_beauty          "DSSRec"       dssrec_beauty     mask_history_eval=true train.epochs=30 train.patience=5 train.lr=0.004 train.metric=NDCG@10
run bert4rec_beauty_short  "BERT4Rec, 30 epochs" bert4rec_beauty mask_history_eval=true train.epochs=30 train.patience=5 train.lr=0.004 train.metric=NDCG@10
