#!/usr/bin/env bash
# W2's CPU a message thread by thread, beside the floor of its bytes, round by round. Each round
# prewarms memory (`peerbench touch`), starts a Release broker on 127.0.0.1 (fresh temp data
# dir), runs W2 as bench/run_actormq.sh does (`actormq-perf produce`: 1 producer, 1 KiB values,
# 1 MiB batches, linger 5 ms, acks leader) while `perf stat --per-thread` counts each thread's
# CPU, then runs `actormq-bytes-bench` (the same bytes: copy, CRC, loopback TCP, page cache) with
# the same count. One line a run; the CPU figures are microseconds of CPU a message:
#   w2    msgs_per_s=... send=... conn=... sender=... rpc=... workers=... caf_other=...
#   floor msgs_per_s=... producer_us_per_msg=... receiver_us_per_msg=...
# send: the client thread that calls send(); conn: the client's connection loop; sender: its
# sender thread; rpc: the broker's Cap'n Proto loop (its main thread); workers: CAF's scheduler
# threads, where the partition actor writes the log (CAF 0.17 names them "caf.multiplexer");
# caf_other: CAF's detached actors and clock. docs/benchmarks.md, "W2 between runs".
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
  . "$SHARED/common.sh"
  ensure_peerbench
fi
prewarm() { if [ "$PREWARM_MB" -gt 0 ]; then "$PEERBENCH" touch --mb "$PREWARM_MB" --rounds 1 >/dev/null; fi; }

DIR=$(mktemp -d)
SPID=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT

w2_round() {
  rm -rf "$DIR/data" "$DIR"/*.out
  # shellcheck disable=SC2086  # BROKER_ARGS is a word list on purpose
  "$B/app/broker/actormq-broker" --listen 127.0.0.1:0 --data-dir "$DIR/data" --log-level warn \
    ${BROKER_ARGS:-} > "$DIR/broker.out" 2> "$DIR/broker.log" &
  SPID=$!
  local addr=""
  for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on //p' "$DIR/broker.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  if [ -z "$addr" ]; then echo "w2_threads: the broker did not start" >&2; cat "$DIR/broker.log" >&2; exit 1; fi
  "$B/app/perf/actormq-perf" produce --broker "$addr" --server-pid "$SPID" --no-progress --topic w2 \
    --producers 1 --batch-bytes 1048576 --linger-ms 5 --max-in-flight 5 --size 1024 \
    --count "$COUNT" --acks leader --seconds 60 --label W2 > "$DIR/perf.out" 2>&1 &
  local cpid=$!
  # perf stat -p counts the threads that exist when it attaches: wait for the producer's sender
  # thread (its connection loop starts first). What the client did before (connect, metadata;
  # a few ms) is left out.
  for _ in $(seq 500); do
    grep -qx amq-sender /proc/"$cpid"/task/*/comm 2>/dev/null && break
    sleep 0.01
  done
  perf stat --per-thread -e task-clock -x, -o "$DIR/stat.out" -p "$SPID,$cpid" 2>/dev/null &
  local stat=$!
  wait "$cpid"
  local rc=$?
  sleep 0.2
  kill -INT "$stat" 2>/dev/null; wait "$stat" 2>/dev/null
  kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
  if [ "$rc" -ne 0 ] || ! grep -q "errors=0 unacked=0" "$DIR/perf.out"; then
    echo "w2_threads: the W2 run failed:" >&2; cat "$DIR/perf.out" >&2; exit 1
  fi
  local rate
  rate=$(grep -o 'msgs_per_s=[0-9]*' "$DIR/perf.out")
  # "comm-tid,msecs,..." lines; a thread's comm may itself hold a '-'.
  grep -v '^#' "$DIR/stat.out" | grep -v '^$' | awk -F, -v n="$COUNT" -v rate="$rate" '
    { comm = $1; sub(/-[0-9]+$/, "", comm); ms[comm] += $2 }
    END {
      role["actormq-perf"] = "send"; role["amq-conn"] = "conn"; role["amq-sender"] = "sender"
      role["actormq-broker"] = "rpc"; role["caf.multiplexer"] = "workers"
      role["caf.actor"] = "caf_other"; role["caf.clock"] = "caf_other"
      for (c in ms) { r = (c in role) ? role[c] : "other"; us[r] += ms[c] * 1000 / n }
      printf "w2    %s", rate
      split("send conn sender rpc workers caf_other other", order, " ")
      for (i = 1; i <= 7; i++) if (order[i] in us) printf " %s=%.3f", order[i], us[order[i]]
      printf "\n"
    }'
}

floor_round() {
  "$B/app/bench/actormq-bytes-bench" --count "$COUNT" --dir "$DIR" |
    grep -o 'msgs_per_s=[0-9]*\|producer_us_per_msg=[0-9.]*\|receiver_us_per_msg=[0-9.]*' |
    tr '\n' ' ' | sed 's/^/floor /; s/ $/\n/'
}

echo "# $(date -u +%FT%TZ) rounds=$ROUNDS count=$COUNT build=$B prewarm_mb=$PREWARM_MB"
for _ in $(seq "$ROUNDS"); do
  prewarm
  w2_round
  prewarm
  floor_round
done
