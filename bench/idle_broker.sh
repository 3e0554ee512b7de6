#!/usr/bin/env bash
# What a broker costs while it serves nothing (docs/benchmarks.md, "An idle broker"): starts a
# lone broker on 127.0.0.1 with a fresh data dir, waits SETTLE s, then counts its CPU and its
# threads' context switches over SECS s from /proc, per thread and in all, and stops it.
# Env: BUILD (<repo>/build-perf: app/broker/actormq-broker), DATA (/tmp/actormq-idle),
#      SECS (10), SETTLE (5), BROKER_ARGS (extra broker arguments, e.g. "--config FILE").
# Prints a line per thread (tid, name, switches a second, CPU ticks) and
# idle_cpu_ms_per_s=, idle_switches_per_s=.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-perf}"
DATA="${DATA:-/tmp/actormq-idle}"
SECS="${SECS:-10}"
SETTLE="${SETTLE:-5}"
source "$ROOT/bench/lone_broker.sh"

rm -rf "$DATA" && mkdir -p "$DATA"
# shellcheck disable=SC2086
start_lone_broker "$BUILD/app/broker/actormq-broker" "$DATA" ${BROKER_ARGS:-}
trap 'kill "$SPID" 2>/dev/null || true' EXIT
sleep "$SETTLE"

# tid name switches cpu_ticks, a line per thread.
snapshot() {
  local t
  for t in /proc/"$SPID"/task/*; do
    printf '%s %s %s %s\n' "$(basename "$t")" "$(tr ' ' _ < "$t/comm")" \
      "$(awk '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2} END{print v+n}' "$t/status")" \
      "$(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}
snapshot > "$DATA/before"
sleep "$SECS"
snapshot > "$DATA/after"
join "$DATA/before" "$DATA/after" | awk -v s="$SECS" -v hz="$(getconf CLK_TCK)" '
  { sw = ($6 - $3) / s; cpu = $7 - $4; tsw += sw; tcpu += cpu
    printf "%-8s %-16s switches/s=%7.0f cpu_ticks=%d\n", $1, $2, sw, cpu }
  END { printf "idle_cpu_ms_per_s=%.0f idle_switches_per_s=%.0f\n", tcpu * 1000 / hz / s, tsw }'
