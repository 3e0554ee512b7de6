#!/usr/bin/env bash
# W4's cost per broker thread: starts a Release broker on 127.0.0.1 (fresh temp data dir), runs
# `actormq-perf latency` at RATE msgs/s for SECS s, and reads every broker thread's CPU
# (utime+stime from /proc/PID/task/TID/stat) and context switches (/proc/.../status) over 5 s in
# the middle of the run. Prints the perf tool's latency and CPU figures, then one line per thread:
# CPU a message (us) and voluntary / involuntary switches a message (docs/benchmarks.md, "W4: the
# long poll's stray waits").
# Usage: bench/w4_threads.sh [RATE (10000)] [SECS (10, at least 9)]
# Env: BUILD (<repo>/build-perf), BROKER_ARGS (extra broker arguments)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/w4_lib.sh"
RATE=${1:-10000}; SECS=${2:-10}; B=${BUILD:-$ROOT/build-perf}
# shellcheck disable=SC2086  # BROKER_ARGS is a word list on purpose
w4_start_broker "$B" ${BROKER_ARGS:-}
snap() {
  for t in "/proc/$W4_PID/task/"*; do
    local s v
    read -r -a s < "$t/stat"
    v=$(awk '/voluntary_ctxt/ {printf "%s ", $2}' "$t/status")
    echo "${t##*/} $(tr ' ' _ < "$t/comm") $((s[13] + s[14])) $v"
  done
}
w4_latency "$B" "$RATE" "$SECS"
sleep $((SECS / 2 - 2)); snap > "$W4_DIR/s1"; sleep 5; snap > "$W4_DIR/s2"
wait "$W4_PERF_PID"
w4_figures
# Clock ticks are 10 ms (USER_HZ 100): us a message = ticks * 10000 / (5 s * RATE).
join <(sort "$W4_DIR/s1") <(sort "$W4_DIR/s2") | awk -v r="$RATE" '{
  cpu = ($7 - $3) * 10000 / (5 * r); vs = ($8 - $4) / (5 * r); ivs = ($9 - $5) / (5 * r);
  if ($7 - $3 > 0 || $8 - $4 > 0)
    printf "%-8s %-16s cpu/msg %7.1f us  voluntary %.2f  involuntary %.2f\n", $1, $2, cpu, vs, ivs }'
