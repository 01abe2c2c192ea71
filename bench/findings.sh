#!/usr/bin/env bash
# Re-run every measurement of docs/findings.md: the grid experiments on 5 environment
# seeds under both grammar profiles, the seq experiments once (they have no environment
# seeds), and consensus-grid on seeds 0-4. Each command's --json output is saved in
# OUT (default runs/findings-<time>), with wall times in OUT/times.txt; then the tables
# of docs/findings.md are printed from those files (bench/findings_tables.py). Every
# run takes tail samples (200,000 grid, 1,000,000 seq), so that every table has its
# whole-posterior twin.  Usage: bench/findings.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LEVINSEARCH:-.venv/bin/levinsearch}
O=${1:-runs/findings-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$O"
run() {
  local name=$1; shift
  echo "== $name: levinsearch $*" >&2
  local t0=$SECONDS
  "$L" "$@" --no-save --no-progress --json --tail-samples "${TAIL:-200000}" > "$O/$name.json"
  echo "$name $((SECONDS - t0)) s" >> "$O/times.txt"
}
H="--set grammar.profile=heuristics"
run red-door run red-door --seeds 5
run red-door-heur run red-door --profile heuristics --max-bits 28 --seeds 5
run incentives sweep incentives --set 'ban=[],["plan","greedy"]' --seeds 5
run incentives-heur sweep incentives --set 'ban=[],["plan","greedy"]' $H --max-bits 26 --seeds 5
run des sweep double-edged-sword --set time_weight=0,0.5,1,2 --seeds 5
run des-heur sweep double-edged-sword --set time_weight=0,0.5,1,2 $H --max-bits 26 --seeds 5
run des-heur-open sweep double-edged-sword --set time_weight=0,0.5,1,2 $H --set train.wall_density=0 --max-bits 26 --seeds 5
run task-diversity sweep task-diversity --set train_envs=1,2,4,8,16 --seeds 5
run task-diversity-heur sweep task-diversity --set train_envs=1,2,4,8,16 $H --max-bits 24 --seeds 5
run diversity-fix sweep diversity-fix --set train.variant.share=0,0.05,0.1,0.2,0.3 --seeds 5
run capability-scaling run capability-scaling --seeds 5
run capability-scaling-large sweep capability-scaling --set seed=6 --split large --seeds 5
run capability-scaling-heur run capability-scaling --profile heuristics --max-bits 26 --seeds 5
run capability-scaling-heur-large sweep capability-scaling --set seed=6 $H --max-bits 26 --split large --seeds 5
run grid-treachery run grid-treachery --seeds 5
run grid-treachery-trigger sweep grid-treachery --set seed=7 --split trigger --seeds 5
run dumb-classifier run dumb-classifier --seeds 5
run heuristics-red-door run heuristics-red-door --seeds 5 --max-bits 26
for s in 0 1 2 3 4; do run consensus-grid-s$s run consensus-grid --seed $s; done
TAIL=1000000 run occam run occam
TAIL=1000000 run treacherous-turn run treacherous-turn
TAIL=1000000 run consensus run consensus
"${PYTHON:-.venv/bin/python}" bench/findings_tables.py "$O"
