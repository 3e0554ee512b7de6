#!/usr/bin/env bash
# W3's consumer alternating two clients against one broker: the clients' own work, with the broker
# and the data the same for both. Starts B's Release broker on 127.0.0.1 (temp data dir), produces
# COUNT × 100 B once with B's actormq-perf (W1's arguments), then ROUNDS rounds of A's and B's
# `actormq-perf consume` (W3's: 1,000 records a poll, a fresh group from the earliest offset), in
# copy mode and in stream mode. One line a run:
#   <round> <A|B> <copy|stream> msgs_per_s=... client_user_ns=... client_sys_ns=... broker_ns=...
# (CPU a message: the client's from /usr/bin/time, the broker's from /proc/<pid>/stat, both in
# clock ticks, so about ±10 ms a run.) docs/benchmarks.md, "W3: the consumer's per-record path".
# Env: A (old build dir), B (new build dir), ROUNDS (4), COUNT (1000000)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS=${ROUNDS:-4}; COUNT=${COUNT:-1000000}
: "${A:?A=<old build dir>}" "${B:?B=<new build dir>}"
for tool in "$B/app/broker/actormq-broker" "$A/app/perf/actormq-perf" "$B/app/perf/actormq-perf" \
  /usr/bin/time; do
  [ -x "$tool" ] || { echo "w3_ab: $tool is missing" >&2; exit 1; }
done
DIR=$(mktemp -d) || { echo "w3_ab: mktemp failed" >&2; exit 1; }
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "${DIR:?}"' EXIT
# shellcheck source=bench/lone_broker.sh
. "$ROOT/bench/lone_broker.sh"
start_lone_broker "$B/app/broker/actormq-broker" "$DIR"

produce_w1_records "$B/app/perf/actormq-perf" "$ADDR" w3 "$COUNT" "$DIR/produce.out"
tick=$(getconf CLK_TCK)
broker_ticks() { awk '{ print $14 + $15 }' "/proc/$SPID/stat"; }
for r in $(seq "$ROUNDS"); do
  for side in A B; do
    perf_bin="${!side}/app/perf/actormq-perf"
    for mode in copy stream; do
      stream=(); [ "$mode" = stream ] && stream=(--stream)
      b0=$(broker_ticks)
      out=$(/usr/bin/time -f "TIME %U %S" "$perf_bin" consume --broker "$ADDR" --no-progress \
        --topic w3 --count "$COUNT" --max-poll-records 1000 "${stream[@]}" --seconds 600 \
        --label W3 2>&1)
      b1=$(broker_ticks)
      rate=$(echo "$out" | grep -o 'msgs_per_s=[0-9]*' | cut -d= -f2)
      if [ -z "$rate" ] || ! echo "$out" | grep -q "errors=0"; then
        echo "$out" >&2
        echo "w3_ab: the $side $mode run failed" >&2
        continue
      fi
      echo "$out" | awk -v r="$r" -v side="$side" -v mode="$mode" -v rate="$rate" \
        -v b="$((b1 - b0))" -v tick="$tick" -v n="$COUNT" '/^TIME/ {
          printf "%s %s %s msgs_per_s=%d client_user_ns=%.0f client_sys_ns=%.0f broker_ns=%.0f\n",
            r, side, mode, rate, $2 * 1e9 / n, $3 * 1e9 / n, b / tick * 1e9 / n }'
    done
  done
done
