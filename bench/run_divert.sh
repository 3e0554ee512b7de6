#!/usr/bin/env bash
# Backlog diversion throughput against W1 on the same broker, same run
# (docs/benchmarks.md, "Backlog diversion"). Per repeat: W1 (actormq-perf
# produce, N messages of 100 B) into a fresh topic of SRC_PARTS partitions,
# then `actormq backlog divert` of that whole topic (a group with nothing
# committed) into a topic of TEMP_PARTS partitions, timed from start to exit.
# Output: one line per repeat: w1_msgs_per_s, divert_msgs_per_s and the ratio.
# Env: BUILD(<repo>/build-perf, a Release build with actormq-broker, actormq,
#      actormq-perf) N(1000000) REPEAT(3) SRC_PARTS(2) TEMP_PARTS(8)
#      DATA(/tmp/actormq-divert-bench)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-perf}"
N="${N:-1000000}"
REPEAT="${REPEAT:-3}"
SRC_PARTS="${SRC_PARTS:-2}"
TEMP_PARTS="${TEMP_PARTS:-8}"
DATA="${DATA:-/tmp/actormq-divert-bench}"
BROKER="$BUILD/app/broker/actormq-broker"
CLI="$BUILD/app/cli/actormq"
PERF="$BUILD/app/perf/actormq-perf"
for b in "$BROKER" "$CLI" "$PERF"; do
  [ -x "$b" ] || { echo "missing $b: ninja -C $BUILD actormq-broker actormq actormq-perf" >&2; exit 2; }
done
rm -rf "$DATA"; mkdir -p "$DATA"
. "$ROOT/bench/lone_broker.sh"
SPID=""
trap 'if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi' EXIT
start_lone_broker "$BROKER" "$DATA"
for r in $(seq 1 "$REPEAT"); do
  t="src$r"
  "$CLI" --broker "$ADDR" topic create "$t" --partitions "$SRC_PARTS" > /dev/null
  w1="$("$PERF" produce --broker "$ADDR" --topic "$t" --size 100 --count "$N" --label W1 |
        grep -o 'msgs_per_s=[0-9.]*' | head -1 | cut -d= -f2)"
  start=$(date +%s.%N)
  "$CLI" --broker "$ADDR" backlog divert "$t" --group g --to "$t.backlog" --partitions "$TEMP_PARTS" \
    > "$DATA/divert$r.out"
  end=$(date +%s.%N)
  moved="$(grep -o 'moved [0-9]* of [0-9]*' "$DATA/divert$r.out" | tail -1 | awk '{print $2}')"
  awk -v r="$r" -v m="$moved" -v w1="$w1" -v s="$start" -v e="$end" 'BEGIN {
    rate = m / (e - s)
    printf "repeat=%s msgs=%s w1_msgs_per_s=%.0f divert_msgs_per_s=%.0f ratio=%.3f secs=%.2f\n",
      r, m, w1, rate, rate / w1, e - s }'
done
