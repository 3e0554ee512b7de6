#!/usr/bin/env bash
# The broker's system calls during W4, per thread: starts a Release broker on 127.0.0.1 (fresh
# temp data dir), runs `actormq-perf latency` at RATE msgs/s for 10 s and prints
# `perf trace -s` for 2 s in the middle (calls, errors and time per syscall and thread). perf
# trace slows the traced threads: compare counts, not times (docs/benchmarks.md, "W4: the long
# poll's stray waits").   Usage: bench/w4_syscalls.sh [RATE (1000)]   Env: BUILD (<repo>/build-perf)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/w4_lib.sh"
RATE=${1:-1000}; B=${BUILD:-$ROOT/build-perf}
w4_start_broker "$B"
w4_latency "$B" "$RATE"
sleep 3
perf trace -s -p "$W4_PID" -o "$W4_DIR/trace.txt" -- sleep 2 2>/dev/null
wait "$W4_PERF_PID"
w4_figures
grep -v '^$' "$W4_DIR/trace.txt"
