# Shared by the benchmarks/run_*.sh scripts (source it from the repository root).
#
# record NAME LABEL DATA SOURCE [KEY=VALUE ...] trains and evaluates one run (SOURCE: a YAML
# config, or model=NAME for a model's defaults) with
# benchmarks/run_accuracy.py and writes benchmarks/results/NAME.json. A record that exists is
# skipped, an interrupted run resumes from its checkpoint, and a failed run is reported and
# the script goes on with the next. ONLY=REGEX (environment) runs only the names it matches:
#   ONLY='_user$' bash benchmarks/run_multi_interest.sh

record() {  # name label data source overrides...
  local name=$1 label=$2 data=$3 source=$4; shift 4
  local spec=(--config "$source")
  if [[ $source == model=* ]]; then spec=(--model "${source#model=}"); fi
  if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return 0; fi
  if [ -f "benchmarks/results/$name.json" ]; then echo "skip $name (record exists)"; return 0; fi
  echo "== $name ($(date -u +%H:%M) UTC)"
  python benchmarks/run_accuracy.py --name "$name" --label "$label" --data "$data" "${spec[@]}" "$@" \
    || echo "FAILED $name (exit $?)"
}
