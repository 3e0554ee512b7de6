#!/usr/bin/env bash
# The broker's context switches and CPU per message for one actormq-perf produce run, counted by
# `perf stat` attached to the broker for exactly the run (docs/benchmarks.md, "Changes and what
# they moved"). Starts its own Release broker on 127.0.0.1 with a fresh data dir and stops it.
# Env: BUILD (<repo>/build-perf: app/broker/actormq-broker, app/perf/actormq-perf), DATA
#      (/tmp/actormq-perf-stat), COUNT (1000000), SIZE (1024), BATCH_BYTES (1048576), LINGER_MS (5),
#      ACKS (leader), PRODUCERS (1), MAX_IN_FLIGHT (5), PREWARM_MB (0: none; else `actormq-storage-bench
#      --prewarm-only` from STORAGE_BENCH first, as run_vs_fio.sh does), LABEL (W2)
#      MODE (produce; latency: an `actormq-perf latency` run, W4's, at RATE (10000) msgs/s for
#      SECS (10) s, LABEL W4, the client's own switches and CPU counted too), BROKER_ARGS (extra
#      broker arguments, e.g. "--config FILE")
# Prints the perf tool's line followed by perf_ctx_switches=, perf_ctx_per_msg=, perf_task_ms=,
# perf_cpu_us_per_msg= (the broker), and in latency mode client_ctx_per_msg=,
# client_cpu_us_per_msg=. Bounded: the producer by --seconds 60, the broker's start by 10 s.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-perf}"
DATA="${DATA:-/tmp/actormq-perf-stat}"
COUNT="${COUNT:-1000000}"
SIZE="${SIZE:-1024}"
BATCH_BYTES="${BATCH_BYTES:-1048576}"
LINGER_MS="${LINGER_MS:-5}"
ACKS="${ACKS:-leader}"
PRODUCERS="${PRODUCERS:-1}"
MODE="${MODE:-produce}"
RATE="${RATE:-10000}"
SECS="${SECS:-10}"
if [ "$MODE" = latency ]; then LABEL="${LABEL:-W4}"; else LABEL="${LABEL:-W2}"; fi
PREWARM_MB="${PREWARM_MB:-0}"
STORAGE_BENCH="${STORAGE_BENCH:-$BUILD/storage/bench/actormq-storage-bench}"
command -v perf >/dev/null || { echo "missing perf (linux-perf)" >&2; exit 2; }
for b in "$BUILD/app/broker/actormq-broker" "$BUILD/app/perf/actormq-perf"; do
  [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }
done
. "$ROOT/bench/lone_broker.sh"
rm -rf "$DATA"; mkdir -p "$DATA"
SPID=""
trap 'if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi' EXIT
# shellcheck disable=SC2086  # BROKER_ARGS is a word list on purpose
start_lone_broker "$BUILD/app/broker/actormq-broker" "$DATA" ${BROKER_ARGS:-}
if [ "$PREWARM_MB" -gt 0 ]; then "$STORAGE_BENCH" --prewarm-only --prewarm-mb "$PREWARM_MB" >/dev/null; fi
if [ "$MODE" = latency ]; then
  perf stat -x, -e context-switches,task-clock -o "$DATA/perf.csv" -p "$SPID" -- \
    perf stat -x, -e context-switches,task-clock -o "$DATA/client.csv" -- \
    "$BUILD/app/perf/actormq-perf" latency --broker "$ADDR" --server-pid "$SPID" --no-progress \
    --topic "perf_stat" --size "$SIZE" --rate "$RATE" --seconds "$SECS" --label "$LABEL" \
    > "$DATA/perf.out"
else
  perf stat -x, -e context-switches,task-clock -o "$DATA/perf.csv" -p "$SPID" -- \
    "$BUILD/app/perf/actormq-perf" produce --broker "$ADDR" --server-pid "$SPID" --no-progress \
    --topic "perf_stat" --producers "$PRODUCERS" --batch-bytes "$BATCH_BYTES" --linger-ms "$LINGER_MS" \
    --max-in-flight "${MAX_IN_FLIGHT:-5}" --size "$SIZE" --count "$COUNT" --acks "$ACKS" --seconds 60 --label "$LABEL" \
    > "$DATA/perf.out"
fi
ctx=$(awk -F, '$3=="context-switches"{print $1}' "$DATA/perf.csv")
task=$(awk -F, '$3=="task-clock"{print $1}' "$DATA/perf.csv")
msgs=$(grep -o 'msgs=[0-9]*' "$DATA/perf.out" | head -1 | cut -d= -f2)
extra=""
if [ "$MODE" = latency ]; then
  cctx=$(awk -F, '$3=="context-switches"{print $1}' "$DATA/client.csv")
  ctask=$(awk -F, '$3=="task-clock"{print $1}' "$DATA/client.csv")
  # The client ran for its whole life (connect, topic, drain), the broker's count only as long.
  extra=$(awk -v c="$cctx" -v t="$ctask" -v m="$msgs" 'BEGIN {
    printf " client_ctx_per_msg=%.3f client_cpu_us_per_msg=%.2f", c / m, t * 1000 / m }')
fi
awk -v line="$(cat "$DATA/perf.out")" -v c="$ctx" -v t="$task" -v m="$msgs" -v x="$extra" 'BEGIN {
  printf "%s perf_ctx_switches=%d perf_ctx_per_msg=%.4f perf_task_ms=%.0f perf_cpu_us_per_msg=%.3f%s\n",
    line, c, c / m, t, t * 1000 / m, x }'
