#!/usr/bin/env bash
# BSARec and FMLP-Rec on Beauty and Sports (leave-one-out) with their papers' settings, one
# run at a time, resumable; ONLY=REGEX runs a subset.
#
#   bash benchmarks/run_frequency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
source benchmarks/lib.sh

record bsarec_beauty  "BSARec (paper settings)"   "$DATA/amazon-beauty" examples/configs/bsarec_beauty.yaml
record fmlprec_beauty "FMLP-Rec (paper settings)" "$DATA/amazon-beauty" examples/configs/fmlprec_beauty.yaml
record bsarec_sports  "BSARec (Beauty's settings)" "$DATA/amazon-sports" examples/configs/bsarec_beauty.yaml
record fmlprec_sports "FMLP-Rec (paper settings)" "$DATA/amazon-sports" examples/configs/fmlprec_beauty.yaml
