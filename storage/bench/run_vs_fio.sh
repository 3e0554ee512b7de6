#!/usr/bin/env bash
# Runs actormq-storage-bench next to fio on the same disk, interleaved, REPEAT times, and prints
# one key=value line per run (docs/benchmarks.md, "## Storage", has the figures and how to read them).
#   BENCH      path of actormq-storage-bench (default: build-bench/storage/bench/ under the repo)
#   DATA       scratch dir on the disk under test (default /tmp/actormq-storage-bench)
#   REPEAT     rounds (3); PREWARM_MB (4096) before every append and buffered fio run
#   TOTAL_MB   (2048) bytes per flush_never/flush_10ms run and per fio buffered/direct run
#   FSYNC_MB   (256) bytes per fsync_every run and per fio fdatasync run
#   ONLY       workloads of the bench to run (default: all ten)
#   QUIET_PCT / QUIET_WAIT: see ../shared/bench/common.sh (wait for a quiet machine, bounded)
#   PRIO       command prefix for the bench and fio alike, e.g. "nice -n -10" on a busy machine
# Every run is bounded: the bench by --max-secs 30, fio by --runtime 20 and its --size.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench}"
BENCH="${BENCH:-$ROOT/build-bench/storage/bench/actormq-storage-bench}"
DATA="${DATA:-/tmp/actormq-storage-bench}"
REPEAT="${REPEAT:-3}"
PREWARM_MB="${PREWARM_MB:-4096}"
TOTAL_MB="${TOTAL_MB:-2048}"
FSYNC_MB="${FSYNC_MB:-256}"
PRIO="${PRIO:-}"
ONLY="${ONLY:-append_1k_flush_never append_100b_flush_never append_1k_flush_10ms \
append_100b_flush_10ms append_1k_fsync_every append_100b_fsync_every read_1k_pread \
read_1k_sendfile read_100b_pread read_100b_sendfile}"
for t in fio jq; do command -v "$t" >/dev/null || { echo "missing $t (scripts/setup.sh --bench)" >&2; exit 2; }; done
[ -x "$BENCH" ] || { echo "build $BENCH first (docs/benchmarks.md)" >&2; exit 2; }
. "$SHARED/common.sh"   # wait_quiet, snap_stat, busy_since
mkdir -p "$DATA"
F="$DATA/fio.dat"

# Batch sizes of the bench's default batches (1000 x 100 B, 256 x 1 KiB), for fio's block size.
batch_bytes() { "$BENCH" --only "$1" --total-mb 1 --fsync-total-mb 1 | grep -o 'batch_bytes=[0-9]*' | cut -d= -f2; }
BS_1K=$(batch_bytes append_1k_fsync_every)
BS_100B=$(batch_bytes append_100b_fsync_every)

bench() {
  wait_quiet
  echo "# cmd: $PRIO $BENCH --only $1 --prewarm-mb $PREWARM_MB --total-mb $TOTAL_MB --fsync-total-mb $FSYNC_MB --max-secs 30" >&2
  $PRIO "$BENCH" --dir "$DATA" --only "$1" --prewarm-mb "$PREWARM_MB" --total-mb "$TOTAL_MB" \
    --fsync-total-mb "$FSYNC_MB" --max-secs 30 | sed "s/\$/ wait_busy_pct=$PRE_BUSY prio=${PRIO// /_}/"
}

# run_fio NAME PREWARM ARGS...: same fio invocation and JSON fields as ../shared/bench/limits.sh
run_fio() {
  local name="$1" pw="$2"; shift 2
  wait_quiet
  if [ "$pw" = 1 ]; then "$BENCH" --prewarm-only --prewarm-mb "$PREWARM_MB" >/dev/null; fi
  echo "# cmd: $PRIO fio --name=$name --filename=$F --ioengine=psync --output-format=json $*" >&2
  snap_stat
  $PRIO fio --name="$name" --filename="$F" --ioengine=psync --output-format=json "$@" > "$DATA/fio-$name.json"
  local rb; rb=$(busy_since)
  local pwmb=0; if [ "$pw" = 1 ]; then pwmb=$PREWARM_MB; fi
  jq -r --arg n "$name" '
    .jobs[0] as $j | $j.write as $d |
    ($j.sync.lat_ns.percentile // {}) as $s |
    "peer=limits workload=\($n) mb_per_s=\(($d.bw_bytes/1e6)*100|round/100) iops=\($d.iops|round) runtime_s=\(($d.runtime/1000)*100|round/100)" +
    (if ($s|length) > 0 then " fsync_p50_us=\(($s["50.000000"]/1000)|round) fsync_p99_us=\(($s["99.000000"]/1000)|round)" else "" end) +
    " fio_cpu_pct=\(($j.usr_cpu + $j.sys_cpu)|round)"
  ' "$DATA/fio-$name.json" | sed "s/\$/ machine_busy_pct=$rb wait_busy_pct=$PRE_BUSY prewarm_mb=$pwmb prio=${PRIO// /_}/"
  rm -f "$F"; sync
}

echo "# $(date -u +%FT%TZ) nproc=$(nproc) mem=$(free -g | awk '/Mem:/{print $2}')GiB kernel=$(uname -r) disk=$(df -h "$DATA" | tail -1 | awk '{print $1" "$2}') uptime: $(uptime)" >&2
for rep in $(seq 1 "$REPEAT"); do
  echo "# round $rep: $(uptime)" >&2
  for w in $ONLY; do bench "$w"; done
  run_fio disk_seqwrite_buffered_nofsync 1 --rw=write --bs=1M --size="${TOTAL_MB}M" --runtime=20 --end_fsync=0
  # The same with the 1 KiB batch's size as block size: what one append writes per call.
  run_fio "disk_seqwrite_buffered_nofsync_${BS_1K}" 1 --rw=write --bs="$BS_1K" --size="${TOTAL_MB}M" \
    --runtime=20 --end_fsync=0
  run_fio disk_seqwrite_direct_1m 0 --rw=write --bs=1M --size="${TOTAL_MB}M" --runtime=20 --direct=1
  run_fio "disk_seqwrite_fdatasync_every_${BS_1K}" 1 --rw=write --bs="$BS_1K" --size="${FSYNC_MB}M" --runtime=20 --fdatasync=1
  run_fio "disk_seqwrite_fdatasync_every_${BS_100B}" 1 --rw=write --bs="$BS_100B" --size="${FSYNC_MB}M" --runtime=20 --fdatasync=1
done
