#!/usr/bin/env bash
# DSSRec (leave-one-out, history masked, beside S4Rec Table 2's DSSRec row) and DSIE (user split,
# beside ComiRec-SA/DR and single-vector SASRec of benchmarks/run_multi_interest.sh; also
# leave-one-out) on Beauty and Sports, with their ablations. One run at a time; a record that
# exists is skipped, an interrupted run resumes; ONLY=REGEX runs a subset (benchmarks/lib.sh).
#
# DSSRec: examples/configs/dssrec_beauty.yaml (every split point of a row per pass, seq2item over
# the whole catalogue), Adam lr 4e-3, at most 60 epochs, patience 8, selection on NDCG@10.
# DSIE: the multi-interest recipe of run_multi_interest.sh (lr 5e-3, batch 128, <= 100 epochs,
# patience 10, selection on Recall@20).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
B=$DATA/amazon-beauty
S=$DATA/amazon-sports
LOO="mask_history_eval=true train.epochs=60 train.patience=8 train.lr=0.004 train.metric=NDCG@10"
USER=(--protocol user train.metric=Recall@20 "protocol_options={ns: [20, 50]}" mask_history_eval=false
      train.max_len=30 train.epochs=100 train.patience=10 train.lr=0.005 train.batch_size=128)
source benchmarks/lib.sh
DSSREC=examples/configs/dssrec_beauty.yaml
DSIE=examples/configs/dsie_beauty.yaml

for seed in 2024 2025 2026; do
  record "dssrec_beauty_s$seed" "DSSRec, seed $seed" "$B" $DSSREC $LOO train.seed=$seed
  record "dsie_beauty_user_s$seed" "DSIE, seed $seed" "$B" $DSIE "${USER[@]}" train.seed=$seed
done
record dssrec_sports   "DSSRec"                "$S" $DSSREC $LOO
record dsie_sports_user "DSIE"                 "$S" $DSIE "${USER[@]}"
record dsie_beauty_loo "DSIE, leave-one-out"   "$B" $DSIE --protocol loo "protocol_options={}" \
  mask_history_eval=true train.metric=NDCG@10 \
  train.max_len=30 train.epochs=100 train.patience=10 train.lr=0.005 train.batch_size=128
# DSSRec ablations (a term the configuration does not return gets no weight)
record dssrec_no_s2s_beauty   "DSSRec w/o seq2seq"            "$B" $DSSREC $LOO model.seq2seq=false "train.loss_weights={rec: 1.0}"
record dssrec_keep_all_beauty "DSSRec, no selection (λ = 1)"  "$B" $DSSREC $LOO model.keep_ratio=1.0
record dssrec_k1_beauty       "DSSRec, K = 1"                 "$B" $DSSREC $LOO model.num_intents=1
# seq2seq negatives from other rows only (a row's neighbouring split points overlap its future),
# at the recipe's weight and at the paper's weight 1
record dssrec_other_rows_beauty    "DSSRec, s2s negatives from other rows"      "$B" $DSSREC $LOO \
  model.s2s_negatives=other_rows
record dssrec_other_rows_w1_beauty "DSSRec, other-row negatives, s2s weight 1" "$B" $DSSREC $LOO \
  model.s2s_negatives=other_rows "train.loss_weights={rec: 1.0, s2s: 1.0}"
# DSIE ablations
record dsie_no_global_beauty_user "DSIE w/o global scale" "$B" $DSIE "${USER[@]}" model.use_global=false \
  model.contrastive=false "train.loss_weights={rec: 1.0, orth: 0.1}"
record dsie_no_cl_beauty_user "DSIE w/o shuffle contrast" "$B" $DSIE "${USER[@]}" model.contrastive=false \
  "train.loss_weights={rec: 1.0, orth: 0.1}"
# one interest has no pair to keep orthogonal: K = 1 trains without that term
record dsie_k1_beauty_user "DSIE, K = 1" "$B" $DSIE "${USER[@]}" model.num_interests=1 \
  "train.loss_weights={rec: 1.0, cl: 0.1}"
for k in 2 6; do
  record "dsie_k${k}_beauty_user" "DSIE, K = $k" "$B" $DSIE "${USER[@]}" model.num_interests=$k
done
for tau in 0.05 1.0; do
  record "dsie_tau${tau}_beauty_user" "DSIE, τ = $tau" "$B" $DSIE "${USER[@]}" model.temperature=$tau
done
