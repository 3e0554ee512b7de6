#!/usr/bin/env bash
# Who wakes whom in the broker during W4: starts a Release broker on 127.0.0.1 (fresh temp data
# dir), runs `actormq-perf latency` at RATE msgs/s for 10 s, records one second of
# sched:sched_wakeup with call stacks in the middle (`perf record --call-graph dwarf`) and prints
# the wake-ups of that second by waker thread, woken thread and the first frame of ours
# (bench/wakers_summary.py; docs/benchmarks.md, "W4: the long poll's stray waits").
# Usage: bench/w4_wakers.sh [RATE (1000)]   Env: BUILD (<repo>/build-perf), TOP (40)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/w4_lib.sh"
RATE=${1:-1000}; B=${BUILD:-$ROOT/build-perf}
w4_start_broker "$B"
w4_latency "$B" "$RATE"
sleep 4
perf record -q -o "$W4_DIR/perf.data" -e sched:sched_wakeup --call-graph dwarf,16384 \
  -p "$W4_PID" -- sleep 1 2>/dev/null
wait "$W4_PERF_PID"
w4_figures
perf script -i "$W4_DIR/perf.data" 2>/dev/null > "$W4_DIR/wakeups.txt"
python3 "$ROOT/bench/wakers_summary.py" "$W4_DIR/wakeups.txt" "${TOP:-40}"
