#!/usr/bin/env bash
# The inspector's CPU per request (docs/benchmarks.md, "Inspector cost"): what one /api/cluster
# (the open page's poll) and one /metrics (a Prometheus scrape) cost the broker, in CPU time of
# all its threads, against /healthz (the HTTP round trip alone, no inspection).
#
# A Release broker on a fresh data dir gets TOPICS topics of PARTITIONS partitions, a few
# thousand records in each and a consumer group that has read them, so that every actor kind the
# inspection asks has state. Then, one path at a time over one kept-alive connection, COUNT
# requests back to back; the broker's CPU is the sum of /proc/PID/task/*/schedstat (ns on CPU)
# before and after. Each path is measured ROUNDS times, in turn, and the median is printed, with
# what one poll of the page plus one scrape a second make of one core.
# Env: BUILD(<repo>/build-rel) TOPICS(10) PARTITIONS(4) COUNT(200) ROUNDS(5) DATA(mktemp -d)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-rel}"
TOPICS="${TOPICS:-10}"
PARTITIONS="${PARTITIONS:-4}"
COUNT="${COUNT:-200}"
ROUNDS="${ROUNDS:-5}"
BROKER="$BUILD/app/broker/actormq-broker"
CLI="$BUILD/app/cli/actormq"
PERF="$BUILD/app/perf/actormq-perf"
for b in "$BROKER" "$CLI" "$PERF"; do
  [ -x "$b" ] || { echo "missing $b: ninja -C $BUILD actormq-broker actormq actormq-perf" >&2; exit 2; }
done
DATA="${DATA:-$(mktemp -d /tmp/inspector-cpu.XXXXXX)}"
SPID=""
cleanup() {
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

. "$HERE/lone_broker.sh"
start_lone_broker "$BROKER" "$DATA" --http 127.0.0.1:0

for t in $(seq 1 "$TOPICS"); do
  "$CLI" --broker "$ADDR" topic create "cost_$t" --partitions "$PARTITIONS" > /dev/null
  "$PERF" produce --broker "$ADDR" --topic "cost_$t" --size 100 --count 4000 --no-progress > /dev/null
done
"$PERF" consume --broker "$ADDR" --topic cost_1 --count 4000 --no-progress > /dev/null

python3 - "$SPID" "$HTTP" "$COUNT" "$ROUNDS" "$TOPICS" "$PARTITIONS" "$(git -C "$ROOT" rev-parse --short HEAD)" <<'PY'
import glob, http.client, json, statistics, sys
pid, addr, count, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
topics, partitions, ver = sys.argv[5], sys.argv[6], sys.argv[7]
host, port = addr.rsplit(":", 1)

def cpu_ns():
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between the listing and the read
    return total

conn = http.client.HTTPConnection(host, int(port), timeout=10)
def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: HTTP {r.status}")
    return body

cluster = json.loads(get("/api/cluster"))
def count_actors(node):
    n = 0
    if isinstance(node, dict):
        if "path" in node and "kind" in node:
            n += 1
        for v in node.values():
            n += count_actors(v)
    elif isinstance(node, list):
        for v in node:
            n += count_actors(v)
    return n
sizes = {p: len(get(p)) for p in ("/healthz", "/api/cluster", "/metrics")}
per = {p: [] for p in sizes}
for _ in range(rounds):
    for p in sizes:
        before = cpu_ns()
        for _ in range(count):
            get(p)
        per[p].append((cpu_ns() - before) / count / 1000)  # µs per request
med = {p: statistics.median(v) for p, v in per.items()}
print(f"# inspector_cpu ver={ver} topics={topics} partitions={partitions} actors={count_actors(cluster)} "
      f"requests={count}x{rounds}")
for p in sizes:
    print(f"path={p} bytes={sizes[p]} broker_cpu_us_median={med[p]:.0f} "
          f"min={min(per[p]):.0f} max={max(per[p]):.0f}")
page = med["/api/cluster"] - med["/healthz"]
scrape = med["/metrics"] - med["/healthz"]
print(f"inspection_us page={page:.0f} scrape={scrape:.0f} "
      f"one_each_per_second_pct_of_a_core={100 * (med['/api/cluster'] + med['/metrics']) / 1e6:.3f}")
PY
