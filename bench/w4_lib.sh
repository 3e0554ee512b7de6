# shellcheck shell=bash
# Sourced by bench/w4_*.sh: a Release broker on 127.0.0.1 with a fresh temp data dir, and W4's
# `actormq-perf latency` against it (10 s unless told, 1 KiB, topic t).
# w4_start_broker BUILD [ARGS...]: sets W4_DIR, W4_PID, W4_ADDR; the EXIT trap stops the broker
#   and removes the dir. Exits 1 if the broker does not listen within 10 s.
# w4_latency BUILD RATE [SECS]: runs the perf tool in the background (output in $W4_DIR/perf.out),
#   sets W4_PERF_PID.
# w4_figures: the run's latency and CPU figures on one line.

w4_start_broker() {
  local build=$1
  shift
  W4_DIR=$(mktemp -d)
  "$build/app/broker/actormq-broker" --listen 127.0.0.1:0 --data-dir "$W4_DIR/data" \
    --log-level warn "$@" > "$W4_DIR/out" 2> "$W4_DIR/log" &
  W4_PID=$!
  trap 'kill $W4_PID 2>/dev/null; wait $W4_PID 2>/dev/null; rm -rf "$W4_DIR"' EXIT
  W4_ADDR=""
  for _ in $(seq 100); do
    W4_ADDR=$(sed -n 's/^listening on //p' "$W4_DIR/out")
    [ -n "$W4_ADDR" ] && return 0
    sleep 0.1
  done
  echo "actormq-broker did not start" >&2
  cat "$W4_DIR/log" >&2
  exit 1
}

w4_latency() {
  "$1/app/perf/actormq-perf" latency --broker "$W4_ADDR" --server-pid "$W4_PID" --no-progress \
    --topic t --size 1024 --rate "$2" --seconds "${3:-10}" > "$W4_DIR/perf.out" 2>&1 &
  # shellcheck disable=SC2034  # read by the sourcing script
  W4_PERF_PID=$!
}

w4_figures() {
  grep -o ' p50_us=[0-9.]* p99_us=[0-9.]* p999_us=[0-9.]*\|ack_p50_us=[0-9.]* ack_p99_us=[0-9.]*\|cpu_client_pct=[0-9]* cpu_server_pct=[0-9]* cpu_softirq_pct=[0-9]*' \
    "$W4_DIR/perf.out" | tr '\n' ' '
  echo
}
