#!/usr/bin/env bash
# W2's CPU a message thread by thread, beside the floor of its bytes, round by round. Each round
# prewarms memory (`peerbench touch`), starts a Release broker on 127.0.0.1 (fresh temp data
# dir), runs W2 with bench/run_actormq.sh's arguments (`actormq-perf produce`: 1 producer, 1 KiB
# values, 1 MiB batches, linger 5 ms, 5 in flight, acks leader; COUNT messages, at most 60 s)
# while `perf stat --per-thread` counts each thread's CPU, then runs `actormq-bytes-bench` (the
# same bytes: copy, CRC, loopback TCP, page cache) with the same count. One line a run; the CPU
# figures are microseconds of CPU a message (the messages the run stored):
#   w2    msgs_per_s=... send=... conn=... sender=... rpc=... workers=... caf_other=... [other=...]
#   floor msgs_per_s=... producer_us_per_msg=... receiver_us_per_msg=...
# send: the client's threads but its connection loop (conn) and sender thread (sender): the
# thread that calls send(); rpc: the broker's threads CAF did not start (its Cap'n Proto loop,
# and the HTTP thread if BROKER_ARGS starts one); workers: the threads CAF 0.17 names
# "caf.multiplexer", its scheduler's workers (where the partition actor validates and writes the
# log) and, with BROKER_ARGS that start libcaf_io, its multiplexer; caf_other: CAF's detached
# actors and clock. perf stat counts the threads that exist when it attaches, so it attaches once
# the producer's sender thread exists (a few ms after the client starts) and leaves out what came
# before. docs/benchmarks.md, "W2 between runs, and the producer's first 64 MiB".
# Usage: bench/w2_threads.sh [ROUNDS (3)] [COUNT (2000000)]
# Env: BUILD (<repo>/build-perf), PREWARM_MB (4096; 0: none), BROKER_ARGS, SHARED
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench}"
ROUNDS=${1:-3}; COUNT=${2:-2000000}; B=${BUILD:-$ROOT/build-perf}
PREWARM_MB=${PREWARM_MB:-4096}
for tool in app/broker/actormq-broker app/perf/actormq-perf app/bench/actormq-bytes-bench; do
  [ -x "$B/$tool" ] || { echo "w2_threads: $B/$tool is missing (build it, or set BUILD)" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "w2_threads: perf is missing (linux-perf)" >&2; exit 1; }
if [ "$PREWARM_MB" -gt 0 ]; then
  # shellcheck source=/dev/null
  . "$SHARED/common.sh"
  ensure_peerbench
fi
prewarm() { if [ "$PREWARM_MB" -gt 0 ]; then "$PEERBENCH" touch --mb "$PREWARM_MB" --rounds 1 >/dev/null; fi; }

DIR=$(mktemp -d) || { echo "w2_threads: mktemp failed" >&2; exit 1; }
SPID=""; CPID=""; STATPID=""
stop_all() {
  for p in $STATPID $CPID $SPID; do kill "$p" 2>/dev/null; done
  for p in $STATPID $CPID $SPID; do wait "$p" 2>/dev/null; done
  STATPID=""; CPID=""; SPID=""
}
trap 'stop_all; rm -rf "${DIR:?}"' EXIT
fail() { echo "w2_threads: $*" >&2; exit 1; }

# shellcheck source=bench/lone_broker.sh
. "$ROOT/bench/lone_broker.sh"
start_broker() {
  rm -rf "${DIR:?}/data"
  # shellcheck disable=SC2086  # BROKER_ARGS is a word list on purpose
  start_lone_broker "$B/app/broker/actormq-broker" "$DIR" ${BROKER_ARGS:-}
}

w2_round() {
  start_broker
  "$B/app/perf/actormq-perf" produce --broker "$ADDR" --server-pid "$SPID" --no-progress --topic w2 \
    --producers 1 --batch-bytes 1048576 --linger-ms 5 --max-in-flight 5 --size 1024 \
    --count "$COUNT" --acks leader --seconds 60 --label W2 > "$DIR/perf.out" 2>&1 &
  CPID=$!
  local sender=0
  for _ in $(seq 500); do
    if grep -qx amq-sender /proc/"$CPID"/task/*/comm 2>/dev/null; then sender=1; break; fi
    kill -0 "$CPID" 2>/dev/null || break
    sleep 0.01
  done
  [ "$sender" = 1 ] || { cat "$DIR/perf.out" >&2; fail "the producer's sender thread did not start within 5 s"; }
  perf stat --per-thread -e task-clock -x, -o "$DIR/stat.out" -p "$SPID,$CPID" 2> "$DIR/stat.err" &
  STATPID=$!
  wait "$CPID"
  local rc=$?
  CPID=""
  sleep 0.2
  kill -INT "$STATPID" 2>/dev/null; wait "$STATPID" 2>/dev/null; STATPID=""
  kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
  if [ "$rc" -ne 0 ] || ! grep -q "errors=0 unacked=0" "$DIR/perf.out"; then
    cat "$DIR/perf.out" >&2; fail "the W2 run failed"
  fi
  grep -q '^[^#].*-[0-9]*,' "$DIR/stat.out" || { cat "$DIR/stat.err" >&2; fail "perf stat counted nothing"; }
  local rate msgs
  rate=$(grep -o 'msgs_per_s=[0-9]*' "$DIR/perf.out")
  msgs=$(grep -o ' msgs=[0-9]*' "$DIR/perf.out" | cut -d= -f2)
  if [ -z "$msgs" ] || [ "$msgs" -le 0 ]; then fail "no msgs= in the W2 line"; fi
  # "comm-tid,msecs,..." lines; a thread's comm may itself hold a '-'.
  grep -v '^#' "$DIR/stat.out" | grep -v '^$' | awk -F, -v n="$msgs" -v rate="$rate" '
    { comm = $1; sub(/-[0-9]+$/, "", comm); ms[comm] += $2 }
    END {
      role["amq-conn"] = "conn"; role["amq-sender"] = "sender"
      role["caf.multiplexer"] = "workers"; role["caf.actor"] = "caf_other"; role["caf.clock"] = "caf_other"
      role["actormq-perf"] = "send"; role["actormq-broker"] = "rpc"
      for (c in ms) { r = (c in role) ? role[c] : "other"; us[r] += ms[c] * 1000 / n }
      printf "w2    %s", rate
      split("send conn sender rpc workers caf_other other", order, " ")
      for (i = 1; i <= 7; i++) if (order[i] in us) printf " %s=%.3f", order[i], us[order[i]]
      printf "\n"
    }'
}

floor_round() {
  "$B/app/bench/actormq-bytes-bench" --count "$COUNT" --dir "$DIR" > "$DIR/floor.out" 2>&1 ||
    { cat "$DIR/floor.out" >&2; fail "actormq-bytes-bench failed"; }
  grep -o 'msgs_per_s=[0-9]*\|producer_us_per_msg=[0-9.]*\|receiver_us_per_msg=[0-9.]*' "$DIR/floor.out" |
    tr '\n' ' ' | sed 's/^/floor /; s/ $/\n/'
}

echo "# $(date -u +%FT%TZ) rounds=$ROUNDS count=$COUNT build=$B prewarm_mb=$PREWARM_MB"
for _ in $(seq "$ROUNDS"); do
  prewarm
  w2_round
  prewarm
  floor_round
done
