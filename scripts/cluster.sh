#!/usr/bin/env bash
# scripts/cluster.sh [N]   (default 3)
# Sets up and builds (Release) what it needs, then starts a one-node etcd and
# N ActorMQ brokers on 127.0.0.1, each with its own data dir under
# ./data-cluster (or $CLUSTER_DIR) and free ports. Once the cluster has a
# controller it prints one line per broker:
#   broker ID listening on HOST:PORT
# and stays in the foreground; SIGINT or SIGTERM stops everything it started.
# Logs: $CLUSTER_DIR/etcd.log and $CLUSTER_DIR/broker-ID/broker.log; each
# broker's pid in $CLUSTER_DIR/broker-ID/pid, etcd's URL in $CLUSTER_DIR/etcd.url.
# Talk to it with: actormq --broker HOST:PORT,HOST:PORT cluster status
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/cluster.sh [N]" >&2
  exit 2
fi
dir=${CLUSTER_DIR:-./data-cluster}
bin=${ACTORMQ_BIN_DIR:-}
cluster_id=${CLUSTER_ID:-local}

if [[ -z "$bin" ]]; then
  ./scripts/setup.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTORMQ_TESTS=OFF >/dev/null
  cmake --build build-release -j "${JOBS:-$(nproc)}" --target actormq-broker actormq >&2
  bin=./build-release/app
fi
broker_bin=$bin/broker/actormq-broker
mkdir -p "$dir"

# A free TCP port on loopback (the kernel's pick; a race with another
# program is possible and then that process fails to start, loudly).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

etcd_client=$(free_port)
etcd_peer=$(free_port)
etcd --name actormq-etcd --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_client" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "actormq-etcd=http://127.0.0.1:$etcd_peer" \
  --log-level warn >"$dir/etcd.log" 2>&1 &
pids+=($!)
etcd_url="http://127.0.0.1:$etcd_client"
echo "$etcd_url" >"$dir/etcd.url"
for _ in $(seq 1 100); do
  if curl -fs "$etcd_url/health" 2>/dev/null | grep -q '"health":"true"'; then break; fi
  sleep 0.1
done
curl -fs "$etcd_url/health" 2>/dev/null | grep -q '"health":"true"' ||
  { echo "cluster.sh: etcd did not start (see $dir/etcd.log)" >&2; exit 1; }

declare -A address
for id in $(seq 0 $((n - 1))); do
  bdir="$dir/broker-$id"
  mkdir -p "$bdir"
  port=$(free_port)
  "$broker_bin" --config config/actormq.toml --data-dir "$bdir/data" \
    --listen "127.0.0.1:$port" --cluster-id "$cluster_id" --broker-id "$id" \
    --etcd "$etcd_url" --cluster-listen 127.0.0.1:0 >"$bdir/broker.log" 2>&1 &
  pids+=($!)
  echo $! >"$bdir/pid"
  address[$id]="127.0.0.1:$port"
done

# Ready: every broker printed its listening line and the controller key
# exists in etcd (asked through etcd's JSON gateway; the key is base64).
controller_key=$(printf '/actormq/%s/controller' "$cluster_id" | base64 -w0)
has_controller() {
  curl -fs -X POST "$etcd_url/v3/kv/range" -d "{\"key\":\"$controller_key\"}" 2>/dev/null |
    grep -q '"kvs"'
}
ready=0
for _ in $(seq 1 600); do
  ready=1
  for id in "${!address[@]}"; do
    grep -q "listening on" "$dir/broker-$id/broker.log" 2>/dev/null || ready=0
  done
  if [[ $ready == 1 ]] && has_controller; then
    break
  fi
  ready=0
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "cluster.sh: a process exited; see the logs in $dir" >&2; exit 1; }
  done
  sleep 0.1
done
if [[ $ready != 1 ]]; then
  echo "cluster.sh: no controller after 60 s; see the logs in $dir" >&2
  exit 1
fi
for id in $(seq 0 $((n - 1))); do
  echo "broker $id listening on ${address[$id]}"
done
echo "etcd at $etcd_url; logs in $dir; Ctrl-C stops the cluster" >&2
# Stay in the foreground until a signal. A broker that exits (killed to try
# a failover, say) is reported and the rest keeps running; without etcd
# nothing can, so its exit stops everything.
declare -A reported
while true; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "cluster.sh: etcd exited; stopping" >&2; exit 1; }
  for id in "${!address[@]}"; do
    pid=$(cat "$dir/broker-$id/pid")
    if ! kill -0 "$pid" 2>/dev/null && [[ -z "${reported[$id]:-}" ]]; then
      echo "cluster.sh: broker $id (pid $pid) exited; see $dir/broker-$id/broker.log" >&2
      reported[$id]=1
    fi
  done
  sleep 1
done
