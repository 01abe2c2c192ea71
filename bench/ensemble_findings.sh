#!/usr/bin/env bash
# Re-run the measurements of docs/findings.md with a prior ensemble of 32 drawn
# encodings per seed (--prior-draws 32, the default concentration c = 100; see
# docs/concepts.md "Prior ensembles"), to say which headline survives a change of
# encoding. Same commands and settings as bench/findings.sh, but without tail samples
# (the ensemble does not redraw the tail, and tail samples would double the cost), so
# every figure is over the enumerated programs. The headline experiments run first;
# the heuristics-profile runs follow (about an hour of wall time in all on 2 shared
# cores; the heuristics runs at 24-28 bits take 2-9 minutes each). consensus-grid runs
# on seeds 0-4 without an ensemble (its rows are red-door's posterior under the
# consensus agent; red-door's ensemble covers the encoding). Each command's --json output is saved in
# OUT (default runs/ensemble-findings-<time>), with wall times in OUT/times.txt; then the
# tables are printed by bench/ensemble_tables.py. ONLY=name1,name2 runs only those,
# SKIP=name1,name2 all but those.
# Usage: bench/ensemble_findings.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LEVINSEARCH:-.venv/bin/levinsearch}
O=${1:-runs/ensemble-findings-$(date +%Y%m%d-%H%M%S)}
K=${DRAWS:-32}
mkdir -p "$O"
run() {
  local name=$1; shift
  if [[ -n "${ONLY:-}" && ",$ONLY," != *",$name,"* ]]; then return; fi
  if [[ ",${SKIP:-}," == *",$name,"* ]]; then return; fi
  echo "== $name: levinsearch $*" >&2
  local t0=$SECONDS
  "$L" "$@" --no-save --no-progress --json > "$O/$name.json"
  echo "$name $((SECONDS - t0)) s" >> "$O/times.txt"
}
E="--prior-draws $K"
H="--set grammar.profile=heuristics"
# The headline experiments (findings settings).
run red-door run red-door --seeds 5 $E
run incentives sweep incentives --set 'ban=[],["plan","greedy"]' --seeds 5 $E
run des sweep double-edged-sword --set time_weight=0,0.5,1,2 --seeds 5 $E
run task-diversity sweep task-diversity --set train_envs=1,2,4,8,16 --seeds 5 $E
run diversity-fix sweep diversity-fix --set train.variant.share=0,0.05,0.1,0.2,0.3 --seeds 5 $E
run capability-scaling run capability-scaling --seeds 5 $E
run grid-treachery run grid-treachery --seeds 5 $E
run dumb-classifier run dumb-classifier --seeds 5 $E
for s in 0 1 2 3 4; do run consensus-grid-s$s run consensus-grid --seed $s; done
run occam run occam $E
run treacherous-turn run treacherous-turn $E
run consensus run consensus $E
# The heuristics profile. (No second splits: an ensemble is read on the run's own
# test split, so capability-scaling --split large and grid-treachery --split trigger
# would show no ensemble figures.)
run heuristics-red-door run heuristics-red-door --seeds 5 --max-bits 26 $E
run red-door-heur run red-door --profile heuristics --max-bits 28 --seeds 5 $E
run incentives-heur sweep incentives --set 'ban=[],["plan","greedy"]' $H --max-bits 26 --seeds 5 $E
run des-heur sweep double-edged-sword --set time_weight=0,0.5,1,2 $H --max-bits 26 --seeds 5 $E
run des-heur-open sweep double-edged-sword --set time_weight=0,0.5,1,2 $H --set train.wall_density=0 --max-bits 26 --seeds 5 $E
run task-diversity-heur sweep task-diversity --set train_envs=1,2,4,8,16 $H --max-bits 24 --seeds 5 $E
run capability-scaling-heur run capability-scaling --profile heuristics --max-bits 26 --seeds 5 $E
"${PYTHON:-.venv/bin/python}" bench/ensemble_tables.py "$O"
