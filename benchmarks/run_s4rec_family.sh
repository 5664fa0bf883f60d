#!/usr/bin/env bash
# S4Rec and the models it compares with on Beauty and Sports (leave-one-out, history masked), one run
# at a time, in order of importance. A record that exists is skipped; an interrupted run resumes from
# its checkpoint when this script is started again; ONLY=REGEX runs a subset (benchmarks/lib.sh).
# About 5-6 hours on 2 CPU cores in all.
# Every run uses the recipe that trains SASRec fast here: full softmax CE, Adam lr 4e-3, batch 256,
# selection on validation NDCG@10, at most 60 epochs with patience 8; the auxiliary terms keep
# their papers' weights (examples/configs/<model>_beauty.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
COMMON="mask_history_eval=true train.epochs=60 train.patience=8 train.lr=0.004 train.batch_size=256 train.metric=NDCG@10"

source benchmarks/lib.sh
run() {  # name label data config overrides...
  local name=$1 label=$2 data=$3 config=$4; shift 4
  record "$name" "$label" "$data" "examples/configs/${config}_beauty.yaml" $COMMON "$@"
}

B=$DATA/amazon-beauty
S=$DATA/amazon-sports
for seed in 2024 2025 2026; do
  run "s4rec_beauty_s$seed"     "S4Rec, full CE"         "$B" s4rec      train.seed=$seed
  run "sasrec_ce_beauty_s$seed" "full CE, seed $seed"    "$B" sasrec_ce  train.seed=$seed
done
run cl4srec_ce_beauty  "CL4SRec, full CE"  "$B" cl4srec
run iclrec_ce_beauty   "ICLRec, full CE"   "$B" iclrec  model.loss=ce
run bert4rec_beauty    "BERT4Rec, cloze"   "$B" bert4rec
# Table 3 ablations (terms a variant does not return get no weight)
run s4rec_sr_beauty      "S4Rec ablation: SR only"             "$B" s4rec model.variant=sr     "train.loss_weights={rec: 1.0}"
run s4rec_sr_csd_beauty  "S4Rec ablation: SR + CSD (k-means)"  "$B" s4rec model.variant=sr_csd "train.loss_weights={rec: 1.0, scl: 0.1, ckd: 0.1}"
run s4rec_kmeans_beauty  "S4Rec ablation: SR + CSD + GR, k-means" "$B" s4rec model.variant=kmeans "train.loss_weights={rec: 1.0, scl: 0.1, ckd: 0.1, adv: 1.0}"
run s4rec_no_csd_beauty  "S4Rec ablation: w/o CSD"             "$B" s4rec model.variant=no_csd "train.loss_weights={rec: 1.0, clust: 0.01, adv: 1.0}"
run s4rec_no_gr_beauty   "S4Rec ablation: w/o GR"              "$B" s4rec model.variant=no_gr  "train.loss_weights={rec: 1.0, clust: 0.01, scl: 0.1, ckd: 0.1}"
for k in 32 256; do
  run "s4rec_k${k}_beauty" "S4Rec, K = $k" "$B" s4rec model.num_prototypes=$k
done
run s4rec_sports   "S4Rec, full CE"   "$S" s4rec
run iclrec_ce_sports "ICLRec, full CE" "$S" iclrec model.loss=ce
