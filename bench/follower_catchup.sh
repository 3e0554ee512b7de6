#!/usr/bin/env bash
# How fast a follower that lost its disk catches up (issue 13's benchmark): a 3-broker cluster
# (scripts/cluster.sh with this build's binaries), one partition with replication factor 3 filled
# with MB megabytes of 1 KiB records, then one follower SIGKILLed, its data dir deleted, and the
# broker started again, empty, on the same ports. Prints the time from the restart until the
# partition's in-sync set holds all three again, the bytes the follower copied, the rate, and the
# disk's sequential write speed measured by dd in the same directory (page cache and fdatasync).
# Env: BUILD(<repo>/build-perf) DIR(/tmp/peer-bench/catchup) MB(2048)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-perf}"
DIR="${DIR:-/tmp/peer-bench/catchup}"
MB="${MB:-2048}"
CLI="$BUILD/app/cli/actormq"
PERF="$BUILD/app/perf/actormq-perf"
BROKER="$BUILD/app/broker/actormq-broker"
for b in "$CLI" "$PERF" "$BROKER"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }; done

rm -rf "$DIR"; mkdir -p "$DIR"
CPID=""
cleanup() { if [ -n "$CPID" ]; then kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; fi; }
trap cleanup EXIT
(cd "$ROOT" && CLUSTER_DIR="$DIR/cluster" ACTORMQ_BIN_DIR="$BUILD/app" exec scripts/cluster.sh 3) \
  > "$DIR/cluster.out" 2> "$DIR/cluster.err" &
CPID=$!
for _ in $(seq 1 300); do [ "$(grep -c listening "$DIR/cluster.out" 2>/dev/null)" = 3 ] && break; sleep 0.1; done
[ "$(grep -c listening "$DIR/cluster.out")" = 3 ] || { echo "cluster did not start" >&2; exit 1; }
ADDRS=$(awk '/listening/ {print $5}' "$DIR/cluster.out" | paste -sd,)
ETCD=$(cat "$DIR/cluster/etcd.url")

"$CLI" --broker "$ADDRS" topic create catchup --partitions 1 --replication-factor 3 >&2
count=$((MB * 1024))
echo "# filling: $count x 1 KiB, acks=all" >&2
"$PERF" produce --broker "$ADDRS" --no-progress --topic catchup --size 1024 --count "$count" \
  --acks all --max-in-flight 5 --seconds 600 --label fill >/dev/null

# describe's partition row: PARTITION LOG-START HIGH-WATERMARK SIZE-BYTES LEADER EPOCH REPLICAS ISR
row() { "$CLI" --broker "$ADDRS" topic describe catchup 2>/dev/null | awk '$1 == "0" && NF >= 8' | tail -1; }
leader=$(row | awk '{print $5}')
victim=$(( (leader + 1) % 3 ))
vdir="$DIR/cluster/broker-$victim"
vaddr=$(awk -v id="$victim" '$1 == "broker" && $2 == id {print $5}' "$DIR/cluster.out")
bytes=$(du -sb "$DIR/cluster/broker-$leader/data/topics/catchup/0" | awk '{print $1}')
echo "# leader $leader holds $bytes bytes; follower $victim loses its disk" >&2

kill -KILL "$(cat "$vdir/pid")"
for _ in $(seq 1 100); do row | awk '{print $8}' | grep -q "$victim" || break; sleep 0.1; done
rm -rf "$vdir/data"
t0=$(date +%s.%N)
"$BROKER" --config "$ROOT/config/actormq.toml" --data-dir "$vdir/data" --listen "$vaddr" \
  --cluster-id local --broker-id "$victim" --etcd "$ETCD" --cluster-listen 127.0.0.1:0 \
  > "$vdir/broker-restarted.log" 2>&1 &
VPID=$!
done_at=""
for _ in $(seq 1 1500); do
  isr=$(row | awk '{print $8}')
  if [ "$(echo "$isr" | tr ',' '\n' | grep -c .)" = 3 ]; then done_at=$(date +%s.%N); break; fi
  sleep 0.2   # the poll itself (CLI, awk) costs CPU the brokers need: keep it rare
done
kill "$VPID" 2>/dev/null || true; wait "$VPID" 2>/dev/null || true
[ -n "$done_at" ] || { echo "the follower did not rejoin within 300 s" >&2; exit 1; }
secs=$(echo "$done_at - $t0" | bc -l)
copied=$(du -sb "$vdir/data/topics/catchup/0" | awk '{print $1}')

# The disk: 1 GiB sequential, through the page cache and with fdatasync at the end.
dd_rate() { dd if=/dev/zero of="$DIR/dd.bin" bs=1M count=1024 "$@" 2>&1 | awk '/copied/ {print $(NF-1), $NF}'; rm -f "$DIR/dd.bin"; }
cache=$(dd_rate)
synced=$(dd_rate conv=fdatasync)
printf 'follower_catchup bytes=%s secs=%.2f mb_per_s=%.0f dd_page_cache="%s" dd_fdatasync="%s" ver=%s\n' \
  "$copied" "$secs" "$(echo "$copied / 1048576 / $secs" | bc -l)" "$cache" "$synced" \
  "$(git -C "$ROOT" rev-parse --short HEAD)"
