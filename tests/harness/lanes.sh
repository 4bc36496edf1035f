#!/usr/bin/env bash
# Runs make targets in lanes side by side: the targets of one lane one after the other, the lanes
# at the same time. `make test` runs its Molecule scenarios and the demo test this way.
#
#   tests/harness/lanes.sh "molecule-cluster" "nice=2 molecule-default test-demo"
#
# A lane may start with nice=N: its targets, and the containers they start (podman's processes
# inherit the niceness), run at that CPU priority (default 0). The cores are the bottleneck, and
# the run ends when its longest lane does: the lane with the longest chain of work gets the cores
# first, the others fill the time it leaves (while it waits on a health check, a restart, a
# readiness delay). The priorities only share the CPU out; no check's timing depends on them.
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
# The targets are run with LANES=1: what the instance targets share is then built once, by the
# first of them, under a lock (the Makefile's INSTANCE_DEPS); a target's duration includes its
# wait for that lock.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$#" -gt 0 ] || { echo "usage: $0 'target ...' ['target ...' ...]" >&2; exit 2; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Each Molecule step's and verify part's duration (tests/harness/callback_plugins/suite_timing.py,
# enabled by .config/molecule/config.yml), printed as a table at the end.
export SUITE_TIMINGS="$results/timings.tsv"
: >"$SUITE_TIMINGS"

# CPU time (user + system, in hundredths of a second) of the processes this shell has waited for,
# as the `times` builtin wrote it to file $1: `times` must run in the lane's own shell (not in a
# command substitution's subshell). Daemons a target starts (the containers, SSH control
# masters) are not its children; the containers' CPU is counted apart below.
children_cpu() {
  awk 'NR == 2 { total = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
                 printf "%d\n", total * 100 }' "$1"
}

run_lane() {
  local target start rc cpu_before cpu_file niceness=0 targets=$1
  if [[ "$targets" =~ ^nice=([0-9]+)[[:space:]]+(.*)$ ]]; then
    niceness=${BASH_REMATCH[1]} targets=${BASH_REMATCH[2]}
  fi
  cpu_file=$(mktemp -p "$results")
  for target in $targets; do
    start=$(date +%s)
    times >"$cpu_file"
    cpu_before=$(children_cpu "$cpu_file")
    rc=0
    nice -n "$niceness" make --no-print-directory LANES=1 "$target" 2>&1 | sed -u "s/^/[$target] /" || rc=$?
    times >"$cpu_file"
    echo "$target: $( [ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s," \
      "controller CPU $(( ($(children_cpu "$cpu_file") - cpu_before) / 100 )) s" | tee -a "$results/summary"
    [ "$rc" -eq 0 ] || { touch "$results/failed"; return 0; }
  done
}

# The machine's CPU time (/proc/stat: user, nice, system, irq, softirq, steal; in USER_HZ ticks) and
# the containers' (podman's parent cgroup, where the cgroup v2 hierarchy shows it), to report
# where the lanes' CPU went.
machine_cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
containers_cgroup=
for dir in /sys/fs/cgroup/unified/libpod_parent /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/machine.slice; do
  [ -r "$dir/cpu.stat" ] && { containers_cgroup=$dir; break; }
done
containers_cpu() { [ -n "$containers_cgroup" ] && awk '$1 == "usage_usec" { print int($2 / 1e6) }' "$containers_cgroup/cpu.stat"; }
machine_before=$(machine_cpu)
containers_before=$(containers_cpu || echo 0)

start=$(date +%s)
pids=()
for lane in "$@"; do
  run_lane "$lane" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done

elapsed=$(( $(date +%s) - start ))
echo "lanes: $elapsed s in all; the machine's CPU: $(( ($(machine_cpu) - machine_before) / $(getconf CLK_TCK) )) s" \
  "used of $(( elapsed * $(nproc) )) s ($(nproc) cores), of which the containers" \
  "$( [ -n "$containers_cgroup" ] && echo "$(( $(containers_cpu) - containers_before )) s" || echo "not measured (no cgroup found)")"
sed 's/^/  /' "$results/summary"
echo "where the scenarios' time went (seconds; durations are reported, not asserted):"
python3 tests/harness/timings.py "$SUITE_TIMINGS" | sed 's/^/  /'
[ ! -e "$results/failed" ]
