#!/usr/bin/env bash
# Paired comparisons of benchmark runs (graphrec compare: per-user differences with a bootstrap
# 95 % interval over users, seeds averaged per user) that the README cites, written to
# benchmarks/results/compare_*.json. A comparison whose runs are not all finished is skipped with
# a message; one that exists is rewritten (the runs may have gained seeds). A side compares the
# runs of it that are finished (the JSON lists them); a side with none is skipped.
#
#   bash benchmarks/compare_runs.sh            # RUNS=runs/bench by default
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/bench}
OUT=benchmarks/results

compare() {  # name variant "A runs" "B runs" [metrics...]
  local name=$1 variant=$2 a=$3 b=$4; shift 4
  local side_a=() side_b=() run
  for run in $a; do [ -f "$RUNS/$run/result.json" ] && side_a+=("$RUNS/$run"); done
  for run in $b; do [ -f "$RUNS/$run/result.json" ] && side_b+=("$RUNS/$run"); done
  if [ ${#side_a[@]} -eq 0 ] || [ ${#side_b[@]} -eq 0 ]; then
    echo "skip $name (no finished run on one side)"; return 0
  fi
  local metrics=()
  if [ $# -gt 0 ]; then metrics=(--metrics "$@"); fi
  echo "== $name"
  graphrec compare --a "${side_a[@]}" --b "${side_b[@]}" --variant "$variant" "${metrics[@]}" \
    --json "$OUT/$name.json" --overwrite || echo "FAILED $name"
}

seeds() { local prefix=$1; echo "${prefix}_s2024 ${prefix}_s2025 ${prefix}_s2026"; }

# leave-one-out, Beauty, history masked (the papers' code masks it)
compare compare_s4rec_vs_sasrec_ce_beauty_masked masked "$(seeds s4rec_beauty)" "$(seeds sasrec_ce_beauty)"
compare compare_s4rec_sr_vs_s4rec_beauty_masked masked s4rec_sr_beauty "$(seeds s4rec_beauty)"
compare compare_cl4srec_vs_sasrec_ce_beauty_masked masked cl4srec_ce_beauty "$(seeds sasrec_ce_beauty)"
compare compare_dssrec_vs_sasrec_ce_beauty_masked masked "$(seeds dssrec_beauty)" "$(seeds sasrec_ce_beauty)"
compare compare_dsie_vs_sasrec_ce_beauty_masked masked dsie_beauty_loo "$(seeds sasrec_ce_beauty)"
compare compare_dssrec_vs_sasrec_ce_sports_masked masked dssrec_sports sasrec_ce_sports
# user split (first seed named without a suffix), not masked (ComiRec's protocol)
compare compare_hpcl4sr_vs_comirec_sa_tafeng_user unmasked \
  "hpcl4sr_tafeng_user hpcl4sr_tafeng_user_s2025 hpcl4sr_tafeng_user_s2026" \
  "comirec_sa_tafeng_user comirec_sa_tafeng_user_s2025 comirec_sa_tafeng_user_s2026" \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_hpcl4sr_vs_sasrec_ce_tafeng_user unmasked \
  "hpcl4sr_tafeng_user hpcl4sr_tafeng_user_s2025 hpcl4sr_tafeng_user_s2026" sasrec_ce_tafeng_user \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_hpcl4sr_vs_comirec_sa_beauty_user unmasked \
  "hpcl4sr_beauty_user hpcl4sr_beauty_user_s2025 hpcl4sr_beauty_user_s2026" \
  "comirec_sa_beauty_user comirec_sa_beauty_user_s2025 comirec_sa_beauty_user_s2026" \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_hpcl4sr_vs_sasrec_ce_beauty_user unmasked \
  "hpcl4sr_beauty_user hpcl4sr_beauty_user_s2025 hpcl4sr_beauty_user_s2026" sasrec_ce_beauty_user \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_hpcl4sr_vs_comirec_dr_beauty_user unmasked \
  "hpcl4sr_beauty_user hpcl4sr_beauty_user_s2025 hpcl4sr_beauty_user_s2026" comirec_dr_beauty_user \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_dsie_vs_comirec_sa_beauty_user unmasked "$(seeds dsie_beauty_user)" \
  "comirec_sa_beauty_user comirec_sa_beauty_user_s2025 comirec_sa_beauty_user_s2026" \
  Recall@20 Recall@50 NDCG@50 HR@50
compare compare_dsie_vs_sasrec_ce_beauty_user unmasked "$(seeds dsie_beauty_user)" sasrec_ce_beauty_user \
  Recall@20 Recall@50 NDCG@50 HR@50
compare compare_dsie_vs_comirec_sa_sports_user unmasked dsie_sports_user comirec_sa_sports_user \
  Recall@20 Recall@50 NDCG@50 HR@50
compare compare_dsie_vs_sasrec_ce_sports_user unmasked dsie_sports_user sasrec_ce_sports_user \
  Recall@20 Recall@50 NDCG@50 HR@50
compare compare_sasrec_mi_vs_sasrec_ce_beauty_user unmasked \
  "sasrec_mi_beauty_user sasrec_mi_beauty_user_s2025 sasrec_mi_beauty_user_s2026" \
  "sasrec_ce_beauty_user sasrec_ce_beauty_user_s2025 sasrec_ce_beauty_user_s2026" \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_sasrec_mi_k1_vs_sasrec_ce_beauty_user unmasked \
  "sasrec_mi_k1_beauty_user sasrec_mi_k1_beauty_user_s2025 sasrec_mi_k1_beauty_user_s2026" \
  "sasrec_ce_beauty_user sasrec_ce_beauty_user_s2025 sasrec_ce_beauty_user_s2026" \
  Recall@20 Recall@50 NDCG@20 HR@20
compare compare_sasrec_mi_vs_sasrec_mi_k1_beauty_user unmasked \
  "sasrec_mi_beauty_user sasrec_mi_beauty_user_s2025 sasrec_mi_beauty_user_s2026" \
  "sasrec_mi_k1_beauty_user sasrec_mi_k1_beauty_user_s2025 sasrec_mi_k1_beauty_user_s2026" \
  Recall@20 Recall@50 NDCG@20 HR@20
