#!/usr/bin/env bash
# ActorMQ workloads W1..W5 with actormq-perf, in the format of ../shared/bench (same workloads,
# same knobs, same result keys as run_redis.sh / run_nats.sh, so the lines compare one to one).
# Starts its own actormq-broker (Release build) on 127.0.0.1 with a fresh data dir under $DATA,
# stops it by PID. Output: one line per workload run on stdout; commands on stderr.
# Env: PORT(0 = ephemeral) DATA(/tmp/peer-bench/actormq) REPEAT(1) N1(1000000 W1/W3/W5 msgs, 100 B)
#      N2(1000000 W2 msgs, 1 KiB) RATE(10000 W4 msgs/s) LAT_SECS(20) SECS(30 cap per run)
#      ONLY("W1 W2 W3 W4 W5") PREWARM_MB(0) QUIET_PCT(10) QUIET_WAIT(300)
#      BUILD(<repo>/build-perf) PRODUCERS(1) BATCH_BYTES(1048576) LINGER_MS(5) MAX_IN_FLIGHT(5)
#      POLL(1000 W3 max poll records) LOG_LEVEL(warn) VER(git HEAD: the ver= tag)
#      BROKER_ARGS(extra arguments of the one broker, e.g. "--config FILE")
#      CLUSTER(0: one broker; N: etcd + N brokers from scripts/cluster.sh, the client given all N
#      addresses and routing by metadata; W1-W5 topics have replication factor 1; tagged cluster=N)
#      REPLICAS(3: W6-W8's replication factor, CLUSTER >= it)
# W6/W7/W8 (CLUSTER only, as ../shared/bench/run_nats_cluster.sh): W1, W2 and W4 on topics of
# replication factor REPLICAS with acks=all (every in-sync replica has each batch before its ack).
#      INSPECT(0; 1: the broker runs with --http, a Prometheus server scrapes its /metrics every
#      second and one kept-alive connection fetches /api/cluster every second, as the inspector's
#      open page does;
#      one broker only; tagged inspect=1; docs/benchmarks.md, "Inspector cost"; INSPECT_PROM=0:
#      /metrics asked by the page's poller instead of Prometheus; INSPECT_PATHS: the poller's
#      paths; INSPECT_SELF=1: the control, the same processes but Prometheus scrapes itself and
#      the poller asks /healthz, tagged inspect_self=1)
# W3 runs twice per repeat: the copying fetch path (mode=copy) and the zero-copy stream (mode=stream).
# W5 = W1 with acks=fsync (group-commit fdatasync before the ack), on the same broker, fresh topic.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench}"
BUILD="${BUILD:-$ROOT/build-perf}"
PORT="${PORT:-0}"
DATA="${DATA:-/tmp/peer-bench/actormq}"
REPEAT="${REPEAT:-1}"
N1="${N1:-1000000}"
N2="${N2:-1000000}"
RATE="${RATE:-10000}"
LAT_SECS="${LAT_SECS:-20}"
SECS="${SECS:-30}"
ONLY="${ONLY:-W1 W2 W3 W4 W5}"
PRODUCERS="${PRODUCERS:-1}"
BATCH_BYTES="${BATCH_BYTES:-1048576}"
LINGER_MS="${LINGER_MS:-5}"
MAX_IN_FLIGHT="${MAX_IN_FLIGHT:-5}"
POLL="${POLL:-1000}"
LOG_LEVEL="${LOG_LEVEL:-warn}"
BROKER="$BUILD/app/broker/actormq-broker"
PERF="$BUILD/app/perf/actormq-perf"
for b in "$BROKER" "$PERF"; do
  [ -x "$b" ] || { echo "missing $b: build with bench/compare.sh or (README) ninja -C $BUILD actormq-perf actormq-broker" >&2; exit 2; }
done
VER="${VER:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || echo unknown)"
SPID=""
ADDR=""

CLUSTER="${CLUSTER:-0}"
INSPECT="${INSPECT:-0}"
CPID=""
IPIDS=()
cleanup() {
  for p in "${IPIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  IPIDS=()
  if [ -n "$CPID" ]; then kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; CPID=""; SPID=""; fi
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""; fi
}
trap cleanup EXIT

# CLUSTER=N: scripts/cluster.sh with this build's binaries; ADDR = every broker, SPID = broker 0
# (the perf tool samples one broker's CPU).
start_cluster() {
  cleanup
  rm -rf "$DATA"; mkdir -p "$DATA"
  echo "# cmd: CLUSTER_DIR=$DATA/cluster ACTORMQ_BIN_DIR=$BUILD/app scripts/cluster.sh $CLUSTER" >&2
  CLUSTER_DIR="$DATA/cluster" ACTORMQ_BIN_DIR="$BUILD/app" "$ROOT/scripts/cluster.sh" "$CLUSTER" \
    > "$DATA/cluster.out" 2> "$DATA/cluster.log" &
  CPID=$!
  for _ in $(seq 1 600); do
    if [ "$(grep -c 'listening on' "$DATA/cluster.out" 2>/dev/null)" = "$CLUSTER" ]; then
      ADDR="$(sed -n 's/^broker [0-9]* listening on //p' "$DATA/cluster.out" | paste -sd, -)"
      SPID="$(cat "$DATA/cluster/broker-0/pid")"
      return 0
    fi
    kill -0 "$CPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the cluster did not start" >&2; cat "$DATA/cluster.log" >&2; exit 1
}

# INSPECT=1: Prometheus scraping /metrics every second and the page's poll of /api/cluster.
start_inspection() {
  local http="$1" prom_port
  prom_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # INSPECT_SELF=1, the control: the same processes doing the same rounds, but Prometheus scrapes
  # itself and the poller asks /healthz, so the broker inspects nothing.
  local target="$http"
  if [ "${INSPECT_SELF:-0}" = 1 ]; then target="127.0.0.1:$prom_port"; fi
  printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: actormq\n    scrape_interval: 1s\n    static_configs:\n      - targets: [%s]\n' \
    "'$target'" > "$DATA/prometheus.yml"
  echo "# inspect: prometheus on 127.0.0.1:$prom_port scraping $http/metrics every 1 s; /api/cluster polled every ${INSPECT_EVERY_MS:-1000} ms" >&2
  if [ "${INSPECT_PROM:-1}" = 1 ]; then
    prometheus --config.file="$DATA/prometheus.yml" --storage.tsdb.path="$DATA/tsdb" \
      --web.listen-address="127.0.0.1:$prom_port" > "$DATA/prometheus.log" 2>&1 &
    IPIDS+=($!)
  fi
  # The page's poll: one process, one kept-alive connection, as a browser does (a curl process
  # a second cost W4's p99 +29 % on this 2-core machine, more than the requests themselves).
  # INSPECT_PROM=0 asks /metrics here too; INSPECT_PATHS overrides the paths ("/healthz" alone:
  # HTTP without an inspection). INSPECT_EVERY_MS (1000): the poll's period; a shorter one
  # amplifies the inspection to measure its cost above the noise (docs/benchmarks.md).
  local paths="/api/cluster"
  if [ "${INSPECT_PROM:-1}" != 1 ]; then paths="/api/cluster /metrics"; fi
  if [ "${INSPECT_SELF:-0}" = 1 ]; then paths="/healthz"; fi
  python3 -c '
import http.client, sys, time
host, port = sys.argv[1].rsplit(":", 1)
every = int(sys.argv[2]) / 1000
conn = http.client.HTTPConnection(host, int(port), timeout=10)
next_at = time.monotonic()
while True:
    for p in sys.argv[3:]:
        conn.request("GET", p)
        conn.getresponse().read()
    next_at += every
    time.sleep(max(0.0, next_at - time.monotonic()))
' "$http" "${INSPECT_EVERY_MS:-1000}" ${INSPECT_PATHS:-$paths} &
  IPIDS+=($!)
}

start_broker() {
  if [ "$CLUSTER" -gt 0 ]; then start_cluster; return; fi
  cleanup
  rm -rf "$DATA"; mkdir -p "$DATA"
  local extra=()
  # shellcheck disable=SC2206  # BROKER_ARGS is a word list on purpose
  extra+=(${BROKER_ARGS:-})
  if [ "$INSPECT" = 1 ]; then extra+=(--http 127.0.0.1:0); fi
  echo "# cmd: $BROKER --listen 127.0.0.1:$PORT --data-dir $DATA/data --log-level $LOG_LEVEL ${extra[*]}" >&2
  "$BROKER" --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" --log-level "$LOG_LEVEL" "${extra[@]}" \
    > "$DATA/broker.out" 2> "$DATA/broker.log" &
  SPID=$!
  for _ in $(seq 1 100); do
    ADDR="$(sed -n 's/^listening on //p' "$DATA/broker.out")"
    if [ -n "$ADDR" ] && [ "$INSPECT" = 1 ]; then
      local http
      http="$(sed -n 's/^http listening on //p' "$DATA/broker.out")"
      if [ -z "$http" ]; then sleep 0.1; continue; fi
      start_inspection "$http"
      return 0
    fi
    if [ -n "$ADDR" ]; then return 0; fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "actormq-broker did not start" >&2; cat "$DATA/broker.log" >&2; exit 1
}

. "$SHARED/common.sh"
if [ "${PREWARM_MB:-0}" -gt 0 ]; then ensure_peerbench; fi   # run() uses `peerbench touch` to prewarm
want() { [[ " $ONLY " == *" $1 "* ]]; }
# A failed run (lost messages, errors) still printed its line: note it and go on.
run_or_note() { run "$@" || echo "# run failed (rc=$?): $*" >&2; }

start_broker
C=(--broker "$ADDR" --server-pid "$SPID" --no-progress)
TAGS="ver=$VER build=$BUILD_TYPE storage=file log=$LOG_LEVEL"
if [ "$CLUSTER" -gt 0 ]; then TAGS="$TAGS cluster=$CLUSTER"; fi
TAGS="$TAGS inspect=$INSPECT"
if [ "${INSPECT_SELF:-0}" = 1 ]; then TAGS="$TAGS inspect_self=1"; fi
if [ "$INSPECT" = 1 ] && [ -n "${INSPECT_EVERY_MS:-}" ]; then TAGS="$TAGS inspect_every_ms=$INSPECT_EVERY_MS"; fi
PROD=(--producers "$PRODUCERS" --batch-bytes "$BATCH_BYTES" --linger-ms "$LINGER_MS" --max-in-flight "$MAX_IN_FLIGHT")
for r in $(seq 1 "$REPEAT"); do
  if want W1 || want W3; then
    run_or_note "$PERF" produce "${C[@]}" --topic "w1_r$r" "${PROD[@]}" --size 100 --count "$N1" --acks leader \
      --seconds "$SECS" --label W1 --tags "$TAGS"
  fi
  if want W3; then
    run_or_note "$PERF" consume "${C[@]}" --topic "w1_r$r" --count "$N1" --max-poll-records "$POLL" --seconds "$SECS" \
      --label W3 --tags "$TAGS"
    run_or_note "$PERF" consume "${C[@]}" --topic "w1_r$r" --count "$N1" --max-poll-records "$POLL" --stream \
      --seconds "$SECS" --label W3 --tags "$TAGS"
  fi
  if want W2; then
    run_or_note "$PERF" produce "${C[@]}" --topic "w2_r$r" "${PROD[@]}" --size 1024 --count "$N2" --acks leader \
      --seconds "$SECS" --label W2 --tags "$TAGS"
  fi
  if want W4; then
    run_or_note "$PERF" latency "${C[@]}" --topic "w4_r$r" --size 1024 --rate "$RATE" --seconds "$LAT_SECS" \
      --label W4 --tags "$TAGS"
  fi
  if [ "$CLUSTER" -gt 0 ] && want W6; then
    run_or_note "$PERF" produce "${C[@]}" --topic "w6_r$r" --replication-factor "${REPLICAS:-3}" \
      "${PROD[@]}" --size 100 --count "$N1" --acks all --seconds "$SECS" --label W6 \
      --tags "$TAGS replicas=${REPLICAS:-3}"
  fi
  if [ "$CLUSTER" -gt 0 ] && want W7; then
    run_or_note "$PERF" produce "${C[@]}" --topic "w7_r$r" --replication-factor "${REPLICAS:-3}" \
      "${PROD[@]}" --size 1024 --count "$N2" --acks all --seconds "$SECS" --label W7 \
      --tags "$TAGS replicas=${REPLICAS:-3}"
  fi
  if [ "$CLUSTER" -gt 0 ] && want W8; then
    run_or_note "$PERF" latency "${C[@]}" --topic "w8_r$r" --replication-factor "${REPLICAS:-3}" \
      --size 1024 --rate "$RATE" --seconds "$LAT_SECS" --acks all --label W8 \
      --tags "$TAGS replicas=${REPLICAS:-3}"
  fi
  if want W5; then
    run_or_note "$PERF" produce "${C[@]}" --topic "w5_r$r" "${PROD[@]}" --size 100 --count "$N1" --acks fsync \
      --seconds "$SECS" --label W5 --tags "$TAGS sync=always"
  fi
done
cleanup
if [ "$CLUSTER" -gt 0 ]; then du -sh "$DATA/cluster" >&2 || true; else du -sh "$DATA/data" >&2 || true; fi
