#!/usr/bin/env bash
# Where W4's time goes between threads: starts a Release broker on 127.0.0.1 (fresh temp data
# dir), runs `actormq-perf latency` at RATE msgs/s for 10 s, records SECS s of
# sched:sched_wakeup and sched:sched_switch on every CPU in the middle, and prints per thread of
# broker and client how often it is woken a message, how long a wake-up takes to run it, how long
# it runs and its CPU a message, then who wakes whom (bench/sched_summary.py; docs/benchmarks.md,
# "W4: where a message's time goes"). Tracing costs a little on every switch: compare threads and
# runs of this script, not its latency with untraced runs.
# Usage: bench/w4_sched.sh [RATE (1000)] [SECS (2)]
# Env: BUILD (<repo>/build-perf), BROKER_ARGS (extra broker arguments)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/w4_lib.sh"
RATE=${1:-1000}; SECS=${2:-2}; B=${BUILD:-$ROOT/build-perf}
# shellcheck disable=SC2086  # BROKER_ARGS is a word list on purpose
w4_start_broker "$B" ${BROKER_ARGS:-}
w4_latency "$B" "$RATE"
sleep 4
tids() {  # "tid comm" of every thread of $1, the main thread named "main"
  for t in "/proc/$1/task/"*; do
    if [ "${t##*/}" = "$1" ]; then echo "$1 main"; else echo "${t##*/} $(cat "$t/comm")"; fi
  done
}
tids "$W4_PID" > "$W4_DIR/$W4_PID.tids"
tids "$W4_PERF_PID" > "$W4_DIR/$W4_PERF_PID.tids"
perf record -q -a -o "$W4_DIR/sched.data" -e sched:sched_wakeup -e sched:sched_switch \
  -- sleep "$SECS" 2>/dev/null
wait "$W4_PERF_PID"
w4_figures
perf script -i "$W4_DIR/sched.data" 2>/dev/null > "$W4_DIR/sched.txt"
(cd "$W4_DIR" && python3 "$ROOT/bench/sched_summary.py" sched.txt $((RATE * SECS)) \
  broker="$W4_PID" client="$W4_PERF_PID")
