#!/usr/bin/env bash
# Runs make targets in lanes side by side: the targets of one lane one after the other, the lanes
# at the same time. `make test` runs its Molecule scenarios and the demo test this way.
#
#   tests/harness/lanes.sh "molecule-default test-demo" "molecule-cluster molecule-djongo"
#
# Why: a scenario spends most of its time waiting (module round trips into its containers,
# mongod's start-up delays, health checks, deploys under a bounded load), so two lanes on this
# 2-core machine take little more than the longer lane alone. Each scenario has its own podman
# network and its containers are named <scenario>-<instance> (molecule/shared/create.yml), so
# scenarios with the same instance names (default and djongo: db1, web1) may run side by side.
#
# Every line of output starts with its target's name; each target's status and duration are
# printed when it ends and again in a summary, followed by the table of each Molecule step and
# verify part (tests/harness/timings.py). Exit status 1 if any target failed. A lane stops
# at its first failed target; the other lanes go on to the end, so one run shows every failure.
# The caller builds what the targets share first (the Makefile's INSTANCE_DEPS), and the
# targets are run with LANES=1 so that they do not build it again, concurrently.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$#" -gt 0 ] || { echo "usage: $0 'target ...' ['target ...' ...]" >&2; exit 2; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Each Molecule step's and verify part's duration (tests/harness/callback_plugins/suite_timing.py,
# enabled by .config/molecule/config.yml), printed as a table at the end.
export SUITE_TIMINGS="$results/timings.tsv"
: >"$SUITE_TIMINGS"

run_lane() {
  local target start rc
  for target in $1; do
    start=$(date +%s)
    rc=0
    make --no-print-directory LANES=1 "$target" 2>&1 | sed -u "s/^/[$target] /" || rc=$?
    echo "$target: $( [ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s" \
      | tee -a "$results/summary"
    [ "$rc" -eq 0 ] || { touch "$results/failed"; return 0; }
  done
}

start=$(date +%s)
pids=()
for lane in "$@"; do
  run_lane "$lane" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done

echo "lanes: $(( $(date +%s) - start )) s in all"
sed 's/^/  /' "$results/summary"
echo "where the scenarios' time went (seconds; durations are reported, not asserted):"
python3 tests/harness/timings.py "$SUITE_TIMINGS" | sed 's/^/  /'
[ ! -e "$results/failed" ]
