#!/usr/bin/env bash
# W4 alternating two builds (each its own Release broker and actormq-perf), ROUNDS pairs of 10 s
# runs at RATE msgs/s, 1 KiB: one line per run with p50/p99/p99.9, the producer's acknowledgement
# p50/p99 (ack_, when the build's perf tool reports it) and client/broker/softirq CPU.
# Env: A (old build dir), B (new build dir), ROUNDS (3), RATE (10000)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS=${ROUNDS:-3}; RATE=${RATE:-10000}
: "${A:?A=<old build dir>}" "${B:?B=<new build dir>}"
one() (
  . "$ROOT/bench/w4_lib.sh"
  w4_start_broker "$1"
  w4_latency "$1" "$RATE"
  wait "$W4_PERF_PID"
  echo "$1 $(w4_figures)"
)
for _ in $(seq "$ROUNDS"); do one "$A"; one "$B"; done
