#!/usr/bin/env bash
# The papers' figures from the benchmark runs (runs/bench/NAME, trained by the run_*.sh scripts),
# written to docs/pages/figures/ (PNG + the JSON behind it):
#   head_rate_beauty/          S4Rec Fig. 3: share of head sequences per cluster, S4Rec vs ICLRec
#   interests_<dataset>/       HPCL4SR Fig. 1: cosine similarity of a user's interests,
#                              HPCL4SR vs ComiRec-SA (128 random test users, as the paper; and all)
#   case_study_<dataset>.txt   three random test users of HPCL4SR: history, each interest's top
#                              items with categories, the merged list and the held-out targets
# A figure whose runs are not there yet is skipped with a message. RUNS=DIR reads runs elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/bench}
OUT=docs/pages/figures
mkdir -p "$OUT"

have() {  # run names...: true when every run has finished (its result.json exists)
  local name
  for name in "$@"; do
    if [ ! -f "$RUNS/$name/result.json" ]; then echo "skip: $RUNS/$name has not finished"; return 1; fi
  done
}

if have s4rec_beauty_s2024 iclrec_ce_beauty; then
  graphrec analyze head-rate "$RUNS/s4rec_beauty_s2024" "$RUNS/iclrec_ce_beauty" --labels S4Rec ICLRec \
    --out "$OUT/head_rate_beauty" --overwrite
fi
for d in tafeng beauty; do
  if have "hpcl4sr_${d}_user" "comirec_sa_${d}_user"; then
    for n in 128 all; do
      sample=(--num-users 128); if [ $n = all ]; then sample=(); fi
      graphrec analyze interests "$RUNS/hpcl4sr_${d}_user" "$RUNS/comirec_sa_${d}_user" \
        --labels HPCL4SR ComiRec-SA "${sample[@]}" --out "$OUT/interests_${d}_$n" --overwrite
    done
    graphrec analyze case-study "$RUNS/hpcl4sr_${d}_user" --random 3 --top 10 \
      --json "$OUT/case_study_$d.json" --overwrite > "$OUT/case_study_$d.txt"
  fi
done
