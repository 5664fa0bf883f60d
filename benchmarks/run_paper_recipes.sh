#!/usr/bin/env bash
# The seed methods trained as their papers state (examples/configs/<method>_paper.yaml), on the
# papers' datasets that are available: HPCL4SR on Ta-Feng; DSSRec, S4Rec (leave-one-out) and DSIE
# (user split) on Beauty and Sports. One run at a time, resumable; ONLY=REGEX runs a subset.
#
#   bash benchmarks/run_paper_recipes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
T=${TAFENG:-data/tafeng}
source benchmarks/lib.sh
if [ ! -f "$T/meta.json" ]; then
  graphrec prepare tafeng --input "$DATA/tafeng/ta_feng.csv.zip" --min-item-count 12 --min-length 12 --out "$T"
fi
C=examples/configs
record hpcl4sr_paper_tafeng_user "HPCL4SR, paper recipe" "$T" $C/hpcl4sr_paper.yaml
record dssrec_paper_beauty "DSSRec, paper recipe" "$DATA/amazon-beauty" $C/dssrec_paper.yaml
record s4rec_paper_beauty "S4Rec, paper recipe" "$DATA/amazon-beauty" $C/s4rec_paper.yaml
record dsie_paper_beauty_user "DSIE, paper recipe" "$DATA/amazon-beauty" $C/dsie_paper.yaml
record dssrec_paper_sports "DSSRec, paper recipe" "$DATA/amazon-sports" $C/dssrec_paper.yaml
record s4rec_paper_sports "S4Rec, paper recipe" "$DATA/amazon-sports" $C/s4rec_paper.yaml
record dsie_paper_sports_user "DSIE, paper recipe" "$DATA/amazon-sports" $C/dsie_paper.yaml
