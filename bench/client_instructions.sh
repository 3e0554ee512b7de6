#!/usr/bin/env bash
# The client's user-space instructions a message, producing (W2) or consuming (W3), counted by
# valgrind's callgrind: a measure of the client's per-record work that this VM's run-to-run noise
# hardly moves (the same binary and arguments give counts within about 2 % of each other: how
# often the producer's lock spins and its loops wake still varies). Starts a Release broker on
# 127.0.0.1 (temp data dir). ROLE=produce runs `actormq-perf produce` under callgrind with W2's
# arguments (1 KiB values, 1 MiB batches, linger 5 ms, 5 in flight, acks leader). ROLE=consume
# first produces COUNT records of 100 B with W1's arguments (not counted), then runs W3's
# `actormq-perf consume` (1,000 records a poll; MODE=copy: fetch replies, MODE=stream: the fetch
# stream) under callgrind. Prints one line:
#   client_instructions role=... [mode=...] topic=... msgs=... instructions_per_msg=... out=<OUT>
# then the ten functions with the most instructions (callgrind_annotate). The kernel's work (the
# socket, page faults) is not counted. docs/benchmarks.md, "W2 and the scheduler" and "W3: the
# consumer's per-record path".
# Usage: bench/client_instructions.sh [COUNT (200000)]
# Env: BUILD (<repo>/build-perf), ROLE (produce), MODE (copy), TOPIC (w2),
#      PERF (<BUILD>/app/perf/actormq-perf: another client binary to count),
#      OUT (callgrind file; default in a temp dir, removed at exit)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COUNT=${1:-200000}; B=${BUILD:-$ROOT/build-perf}; TOPIC=${TOPIC:-w2}
ROLE=${ROLE:-produce}; MODE=${MODE:-copy}
case "$ROLE/$MODE" in
  produce/*|consume/copy|consume/stream) ;;
  *) echo "client_instructions: ROLE is produce or consume, MODE copy or stream" >&2; exit 1 ;;
esac
PERF=${PERF:-$B/app/perf/actormq-perf}
for tool in "$B/app/broker/actormq-broker" "$PERF"; do
  [ -x "$tool" ] || { echo "client_instructions: $tool is missing (build it, or set BUILD)" >&2; exit 1; }
done
for cmd in valgrind callgrind_annotate; do
  command -v "$cmd" >/dev/null || { echo "client_instructions: $cmd is missing (valgrind)" >&2; exit 1; }
done
DIR=$(mktemp -d) || { echo "client_instructions: mktemp failed" >&2; exit 1; }
KEEP=${OUT:-}
OUT=${OUT:-$DIR/callgrind.out}
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "${DIR:?}"' EXIT

# shellcheck source=bench/lone_broker.sh
. "$ROOT/bench/lone_broker.sh"
start_lone_broker "$B/app/broker/actormq-broker" "$DIR"

if [ "$ROLE" = produce ]; then
  valgrind --tool=callgrind --callgrind-out-file="$OUT" "$PERF" produce --broker "$ADDR" \
    --no-progress --topic "$TOPIC" --producers 1 --batch-bytes 1048576 --linger-ms 5 \
    --max-in-flight 5 --size 1024 --count "$COUNT" --acks leader --seconds 600 --label W2 \
    > "$DIR/perf.out" 2> "$DIR/valgrind.log"
  ok="errors=0 unacked=0"
else
  produce_w1_records "$PERF" "$ADDR" "$TOPIC" "$COUNT" "$DIR/produce.out"
  stream=(); [ "$MODE" = stream ] && stream=(--stream)
  valgrind --tool=callgrind --callgrind-out-file="$OUT" "$PERF" consume --broker "$ADDR" \
    --no-progress --topic "$TOPIC" --count "$COUNT" --max-poll-records 1000 "${stream[@]}" \
    --seconds 600 --label W3 > "$DIR/perf.out" 2> "$DIR/valgrind.log"
  ok="errors=0"
fi
if ! grep -q "$ok" "$DIR/perf.out"; then
  cat "$DIR/perf.out" "$DIR/valgrind.log" >&2
  echo "client_instructions: the run failed" >&2
  exit 1
fi
total=$(callgrind_annotate "$OUT" 2>/dev/null |
  awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
if [ -z "$total" ]; then
  echo "client_instructions: callgrind_annotate found no total in $OUT" >&2
  exit 1
fi
tag="role=$ROLE"; [ "$ROLE" = consume ] && tag="$tag mode=$MODE"
echo "client_instructions $tag topic=$TOPIC msgs=$COUNT" \
  "instructions_per_msg=$((total / COUNT)) out=${KEEP:-none}"
callgrind_annotate "$OUT" 2>/dev/null | grep -A10 '^Ir *file:function' | tail -n +3 | cut -c1-160
